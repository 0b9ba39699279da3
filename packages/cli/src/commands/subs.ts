import { Command } from "commander";
import type { SubscriptionConfig } from "sundial-sdk";
import { action, collect, confirm, duration, headers, integer, json } from "../context.js";
import { fields, table, UsageError } from "../output.js";

const TYPES = ["webhook", "queue", "pull"] as const;
const BACKOFFS = ["exponential", "linear", "fixed"] as const;

/** `sundial subs …` */
export function subsCommand(): Command {
	const subs = new Command("subs").description("list, show, create and delete a topic's subscriptions");
	subs
		.command("ls <topic>", { isDefault: true })
		.description("a topic's subscriptions with their counts and lag (the default)")
		.action(
			action(async ({ client, out }, topic: string) => {
				const list = await client.subscriptions.list(topic);
				out.result({ subscriptions: list }, () =>
					table(
						list.map((s) => ({ ...s, target: s.url ?? s.queue ?? "-", ...s.counts, lag_ms: s.oldest_due_lag_ms })),
						["name", "type", "target", "paused", "scheduled", "in_flight", "delivered", "dead", "lag_ms"],
					),
				);
			}),
		);
	subs
		.command("get <topic> <name>")
		.description("one subscription: configuration, counts, lag, what holds it back")
		.action(
			action(async ({ client, out }, topic: string, name: string) => {
				const s = await client.subscriptions.get(topic, name);
				out.result(s, () => fields(s));
			}),
		);
	subs
		.command("create <topic> <name>")
		.description("create a subscription, or replace its configuration (a new webhook's secret is printed once)")
		.option("--type <type>", `${TYPES.join(" | ")} (default webhook)`)
		.option("--endpoint <url>", "webhook: the URL to POST to (--url is the Worker's)")
		.option("--queue <binding>", "queue: the Worker's producer binding")
		.option("--timeout <duration>", "webhook: per-attempt timeout (default 30s)")
		.option("--visibility-timeout <duration>", "pull: lease length (default 30s)")
		.option("--max-attempts <n>", "attempts before a delivery is dead, 1–100 (default 10)")
		.option("--backoff <kind>", `${BACKOFFS.join(" | ")} (default exponential)`)
		.option("--header <name=value>", "webhook: a header sent with every delivery (repeatable)", collect)
		.option("--paused", "create it paused")
		.option("--config <json>", "the whole body as JSON (docs/API.md); the other options are added to it")
		.action(
			action(async ({ client, out, options }, topic: string, name: string) => {
				const s = await client.subscriptions.upsert(topic, name, subscriptionConfig(options));
				const { secret, ...rest } = s;
				out.result(s, () =>
					[fields(rest), ...(secret ? [`secret:  ${secret}   (shown once: store it to verify deliveries)`] : [])].join(
						"\n",
					),
				);
			}),
		);
	subs
		.command("delete <topic> <name>")
		.description("remove a subscription and all its deliveries")
		.option("--yes", "confirm")
		.action(
			action(async ({ client, out, options }, topic: string, name: string) => {
				confirm(options, "subs delete");
				const res = await client.subscriptions.delete(topic, name);
				out.result(res, () => `deleted subscription ${res.name}`);
			}),
		);
	return subs;
}

function subscriptionConfig(options: Record<string, unknown>): SubscriptionConfig {
	const base =
		options.config === undefined ? {} : (json(options.config as string, "--config") as Record<string, unknown>);
	if (base === null || typeof base !== "object" || Array.isArray(base))
		throw new UsageError("--config must be a JSON object");
	const type = String(options.type ?? base.type ?? "webhook");
	if (!TYPES.includes(type as (typeof TYPES)[number])) throw new UsageError(`--type: one of ${TYPES.join(", ")}`);
	const config: Record<string, unknown> = { ...base, type };
	if (options.endpoint !== undefined) config.url = options.endpoint;
	if (options.queue !== undefined) config.queue = options.queue;
	if (options.timeout !== undefined) config.timeout = duration(options.timeout as string, "--timeout");
	if (options.visibilityTimeout !== undefined) {
		config.visibility_timeout = duration(options.visibilityTimeout as string, "--visibility-timeout");
	}
	const retry = { ...((base.retry as Record<string, unknown> | undefined) ?? {}) };
	if (options.maxAttempts !== undefined)
		retry.max_attempts = integer(options.maxAttempts as string, "--max-attempts", 1, 100);
	if (options.backoff !== undefined) {
		if (!BACKOFFS.includes(options.backoff as (typeof BACKOFFS)[number])) {
			throw new UsageError(`--backoff: one of ${BACKOFFS.join(", ")}`);
		}
		retry.backoff = options.backoff;
	}
	if (Object.keys(retry).length > 0) config.retry = retry;
	const extra = headers(options.header as string[] | undefined);
	if (extra) config.headers = extra;
	if (options.paused === true) config.paused = true;
	if (type === "webhook" && config.url === undefined)
		throw new UsageError("a webhook subscription needs --endpoint <url>");
	if (type === "queue" && config.queue === undefined) throw new UsageError("a queue subscription needs --queue");
	return config as SubscriptionConfig;
}
