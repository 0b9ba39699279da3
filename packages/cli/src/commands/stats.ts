import { Command } from "commander";
import { action } from "../context.js";
import { table } from "../output.js";

/** `sundial stats <topic>` */
export function statsCommand(): Command {
	return new Command("stats")
		.description("a topic's totals and each subscription's counts, lag and held-back deliveries")
		.argument("<topic>")
		.action(
			action(async ({ client, out }, topic: string) => {
				const [t, subscriptions] = await Promise.all([client.topics.get(topic), client.subscriptions.list(topic)]);
				out.result({ topic: t, subscriptions }, () =>
					[
						`${t.name}: ${t.partitions} partition${t.partitions === 1 ? "" : "s"}, ${t.messages} messages, retention ${t.retention_ms / 1000} s`,
						table([t.counts], ["scheduled", "in_flight", "delivered", "dead", "cancelled"]),
						"",
						table(
							subscriptions.map((s) => ({
								...s,
								...s.counts,
								lag_ms: s.oldest_due_lag_ms,
								held_back: s.held_back.isolation + s.held_back.parallelism + s.held_back.rate,
							})),
							["name", "type", "paused", "scheduled", "in_flight", "delivered", "dead", "lag_ms", "held_back"],
						),
					].join("\n"),
				);
			}),
		);
}
