import { statSync } from "node:fs";
import { Command } from "commander";
import type { PublishInput, RescheduleInput } from "sundial-sdk";
import { action, collect, contextOf, duration, headers, instant, integer, json } from "../context.js";
import { type ImportSummary, importNdjson } from "../import.js";
import { EXIT, ExitWith, fields, table, UsageError } from "../output.js";

/** Retries of an import's requests: longer than a single call's, since a stopped import costs a re-run. */
const IMPORT_RETRY = { retries: 6, baseDelayMs: 500, maxDelayMs: 15_000 };

/** `sundial publish <topic> [body]` and `sundial publish <topic> --file <ndjson>` */
export function publishCommand(): Command {
	return new Command("publish")
		.description("publish one message, or every line of an NDJSON file or stdin (--file)")
		.argument("<topic>")
		.argument("[body]", "the body: JSON (or text with --text)")
		.option("--delay <duration>", "deliver after this long (seconds, or 250ms, 30s, 5m, 2h, 7d)")
		.option("--at <instant>", "deliver at this instant (RFC 3339 or unix seconds)")
		.option("--id <id>", "your id: publishing it again is a duplicate, nothing is scheduled twice")
		.option("--key <key>", "ordering / flow-control key")
		.option("--header <name=value>", "a header delivered with the message (repeatable)", collect)
		.option("--request-id <id>", "sent to the consumer as x-request-id")
		.option("--text", "send the body as text/plain instead of JSON")
		.option("--content-type <type>", "media type of a text body (implies --text)")
		.option("--file <path>", 'NDJSON, one message per line ({"body": …, "delay": …, "id": …}); "-" reads stdin')
		.option("--batch-size <n>", "--file: lines per request, 1–1000 (default 1000)")
		.option("--concurrency <n>", "--file: requests in flight at once, 1–32 (default 4)")
		.option("--retries <n>", "--file: retries of a request that fails (network, 429, 503), 0–20 (default 6)")
		.option(
			"--id-prefix <prefix>",
			"--file: ids of lines without one are <prefix>-<line> (default: from the file's content)",
		)
		.option("--progress", "--file: show progress even when stderr is not a terminal")
		.option("--no-progress", "--file: never show progress")
		.addHelpText(
			"after",
			`
Examples:
  sundial publish orders '{"order":42}' --delay 30s --id order-42
  sundial publish orders 'hello' --text --at 2026-12-01T09:00:00Z
  sundial publish orders --file messages.ndjson          # batches of 1000, 4 in flight, progress bar
  cat messages.ndjson | sundial publish orders --file - --id-prefix import-7

An import gives lines without an "id" the id <prefix>-<line number>, so running it again publishes
nothing twice (already published lines come back as duplicates): re-run a stopped import to resume.`,
		)
		.action(async (topic: string, body: string | undefined, _options: unknown, command: Command) => {
			const { file, retries } = command.opts<{ file?: string; retries?: string }>();
			const retry = {
				...IMPORT_RETRY,
				...(retries === undefined ? {} : { retries: integer(retries, "--retries", 0, 20) }),
			};
			const ctx = contextOf(command, file === undefined ? {} : { retry });
			const { client, out, options } = ctx;
			if (options.file !== undefined) {
				if (body !== undefined) throw new UsageError("give a body or --file, not both");
				const source = options.file as string;
				if (source !== "-" && !isFile(source)) throw new UsageError(`--file: no such file: ${source}`);
				const summary = await importNdjson(client, {
					topic,
					source,
					batchSize:
						options.batchSize === undefined ? 1000 : integer(options.batchSize as string, "--batch-size", 1, 1000),
					concurrency:
						options.concurrency === undefined ? 4 : integer(options.concurrency as string, "--concurrency", 1, 32),
					idPrefix: options.idPrefix as string | undefined,
					progress: options.progress as boolean | undefined,
				});
				out.result(summary, () => describeImport(summary));
				if (summary.stopped_by) throw new ExitWith(exitForStop(summary.stopped_by));
				if (summary.failed > 0) throw new ExitWith(EXIT.api);
				return;
			}
			if (body === undefined) throw new UsageError("give a body (JSON, or text with --text) or --file");
			const result = await client.messages.publish(topic, singleMessage(body, options));
			out.result(
				result,
				() =>
					`${result.duplicate ? "duplicate (already published)" : "published"} ${result.id}, due ${result.deliver_at}`,
			);
		});
}

/** `sundial get <topic> <id>` */
export function getCommand(): Command {
	return new Command("get")
		.description("a message and each subscription's delivery: state, attempts, next attempt, last error")
		.argument("<topic>")
		.argument("<id>")
		.action(
			action(async ({ client, out }, topic: string, id: string) => {
				const m = await client.messages.get(topic, id);
				out.result(m, () => {
					const { deliveries, ...rest } = m;
					return `${fields(rest)}\n\n${table(deliveries, ["subscription", "state", "attempts", "next_attempt_at", "last_status", "last_error", "delivered_at"])}`;
				});
			}),
		);
}

/** `sundial cancel <topic> <id>` */
export function cancelCommand(): Command {
	return new Command("cancel")
		.description("cancel every pending delivery of a message")
		.argument("<topic>")
		.argument("<id>")
		.action(
			action(async ({ client, out }, topic: string, id: string) => {
				const res = await client.messages.cancel(topic, id);
				out.result(
					res,
					() => `cancelled ${res.cancelled} pending deliver${res.cancelled === 1 ? "y" : "ies"} of ${res.id}`,
				);
			}),
		);
}

/** `sundial reschedule <topic> <id> --delay … | --at …` */
export function rescheduleCommand(): Command {
	return new Command("reschedule")
		.description("move a message's scheduled deliveries to a new due time")
		.argument("<topic>")
		.argument("<id>")
		.option("--delay <duration>", "from now")
		.option("--at <instant>", "RFC 3339 or unix seconds")
		.action(
			action(async ({ client, out, options }, topic: string, id: string) => {
				if ((options.delay === undefined) === (options.at === undefined)) throw new UsageError("give --delay or --at");
				const when: RescheduleInput =
					options.delay !== undefined
						? { delay: duration(options.delay as string, "--delay") }
						: { deliver_at: instant(options.at as string, "--at") };
				const res = await client.messages.reschedule(topic, id, when);
				out.result(
					res,
					() => `${res.id}: ${res.scheduled} deliver${res.scheduled === 1 ? "y" : "ies"} now due ${res.deliver_at}`,
				);
			}),
		);
}

function singleMessage(body: string, options: Record<string, unknown>): PublishInput {
	if (options.delay !== undefined && options.at !== undefined) throw new UsageError("give --delay or --at, not both");
	const text = options.text === true || options.contentType !== undefined;
	return {
		body: text ? body : json(body, "the body (use --text for plain text)"),
		...(text ? { content_type: (options.contentType as string | undefined) ?? "text/plain" } : {}),
		...(options.delay === undefined ? {} : { delay: duration(options.delay as string, "--delay") }),
		...(options.at === undefined ? {} : { deliver_at: instant(options.at as string, "--at") }),
		...(options.id === undefined ? {} : { id: options.id as string }),
		...(options.key === undefined ? {} : { key: options.key as string }),
		...(options.requestId === undefined ? {} : { request_id: options.requestId as string }),
		...(options.header === undefined ? {} : { headers: headers(options.header as string[]) }),
	};
}

function describeImport(s: ImportSummary): string {
	const seconds = (s.elapsed_ms / 1000).toFixed(1);
	const lines = [
		`${s.published} published, ${s.duplicates} duplicates, ${s.failed} failed of ${s.lines} lines in ${seconds} s (${s.per_second}/s); ids ${s.id_prefix}-<line>`,
		...s.errors.slice(0, 20).map((e) => `  line ${e.line}${e.id ? ` (${e.id})` : ""}: ${e.code}: ${e.message}`),
	];
	if (s.failed > 20) lines.push(`  … ${s.failed - 20} more (--json lists the first 100)`);
	if (s.stopped_by) {
		lines.push(
			`stopped: ${s.stopped_by.code}: ${s.stopped_by.message}; ${s.unsent} lines not sent. Run the same command again to resume (lines already published come back as duplicates).`,
		);
	}
	return lines.join("\n");
}

function exitForStop(stop: { status: number; code: string }): number {
	if (stop.status === 401 || stop.status === 403) return EXIT.auth;
	if (stop.status === 404) return EXIT.notFound;
	if (stop.status === 0) return EXIT.network;
	return EXIT.api;
}

function isFile(path: string): boolean {
	try {
		return statSync(path).isFile();
	} catch {
		return false;
	}
}
