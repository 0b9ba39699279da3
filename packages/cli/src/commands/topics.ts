import { Command } from "commander";
import type { TopicSummary } from "sundial-sdk";
import { action, confirm, duration, integer } from "../context.js";
import { fields, table } from "../output.js";
import { listOptions, pageOf } from "./lists.js";

/** `sundial topics …` */
export function topicsCommand(): Command {
	const topics = new Command("topics").description("list, show, create and delete topics");
	listOptions(topics.command("ls", { isDefault: true }).description("list topics (the default)")).action(
		action(async ({ client, out, options }) => {
			const page = await pageOf<TopicSummary>(options, (p) => client.topics.list(p));
			out.result({ topics: page.items, next_cursor: page.next_cursor }, () =>
				[table(page.items, ["name", "created_at"]), ...more(page.next_cursor)].join("\n"),
			);
		}),
	);
	topics
		.command("get <topic>")
		.description("a topic's configuration and totals per delivery state")
		.action(
			action(async ({ client, out }, topic: string) => {
				const t = await client.topics.get(topic);
				out.result(t, () => fields(t));
			}),
		);
	topics
		.command("create <topic>")
		.description("create a topic, or replace its configuration")
		.option("--retention <duration>", "how long finished messages stay queryable (default 7d)")
		.option("--partitions <n>", "1–64 Durable Objects to spread it over, fixed at creation (default 1)")
		.action(
			action(async ({ client, out, options }, topic: string) => {
				const t = await client.topics.upsert(topic, {
					...(options.retention === undefined
						? {}
						: { retention: duration(options.retention as string, "--retention") }),
					...(options.partitions === undefined
						? {}
						: { partitions: integer(options.partitions as string, "--partitions", 1, 64) }),
				});
				out.result(t, () => fields(t));
			}),
		);
	topics
		.command("delete <topic>")
		.description("delete a topic and everything in it")
		.option("--yes", "confirm")
		.action(
			action(async ({ client, out, options }, topic: string) => {
				confirm(options, "topics delete");
				const res = await client.topics.delete(topic);
				out.result(res, () => `deleted topic ${res.name}`);
			}),
		);
	return topics;
}

/** The hint printed under a page that has more. */
export function more(cursor: string | null): string[] {
	return cursor === null ? [] : [`(more: --cursor ${cursor}, or --all)`];
}
