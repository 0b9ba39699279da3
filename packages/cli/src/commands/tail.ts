import { Command } from "commander";
import type { TailEvent } from "sundial-sdk";
import { action } from "../context.js";
import { UsageError } from "../output.js";

const list = (value: string | undefined) =>
	value === undefined
		? undefined
		: value
				.split(",")
				.map((v) => v.trim())
				.filter((v) => v !== "");

/** One event as a line for people: time, type, subscription, message, attempt, and what it says. */
function lineOf(e: TailEvent): string {
	const time = typeof e.at === "string" ? e.at.slice(11, 23) : "";
	const rest = Object.entries(e)
		.filter(
			([k, v]) =>
				!["type", "at", "topic", "partition", "subscription", "message_id", "attempt"].includes(k) && v !== null,
		)
		.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
	return [time, e.type, e.subscription ?? "", e.message_id ?? "", e.attempt == null ? "" : `#${e.attempt}`, ...rest]
		.filter((p) => p !== "")
		.join("  ");
}

/** `sundial tail <topic>`: a topic's delivery events as they happen, until Ctrl-C (or `--count`). */
export function tailCommand(): Command {
	return new Command("tail")
		.argument("<topic>")
		.description(
			"live delivery events of a topic (published, attempts, outcomes), until Ctrl-C; --json: one JSON event per line",
		)
		.option("--subscription <names>", "only these subscriptions (comma-separated)")
		.option("--types <types>", "only these event types (comma-separated), e.g. attempt_ended,dead")
		.option("--count <n>", "stop after this many events (the first `ready` not counted)")
		.action(
			action(async ({ client, out, options }, topic: string) => {
				const count = options.count === undefined ? null : Number(options.count);
				if (count !== null && (!Number.isInteger(count) || count < 1))
					throw new UsageError("--count: a positive integer");
				const stop = new AbortController();
				const onSignal = () => stop.abort();
				process.once("SIGINT", onSignal);
				let seen = 0;
				try {
					for await (const event of client.tail(topic, {
						subscription: list(options.subscription as string | undefined),
						types: list(options.types as string | undefined),
						signal: stop.signal,
					})) {
						if (event.type === "ready") {
							out.note(`tailing ${topic} (Ctrl-C stops)`);
							continue;
						}
						out.result(event, () => lineOf(event));
						if (count !== null && ++seen >= count) stop.abort();
					}
				} finally {
					process.off("SIGINT", onSignal);
				}
			}),
		);
}
