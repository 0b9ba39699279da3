import { Command } from "commander";
import { action, collect, confirm, headers, json } from "../context.js";
import { fields, table } from "../output.js";

/** `sundial schedules …` */
export function schedulesCommand(): Command {
	const schedules = new Command("schedules").description("a topic's cron schedules");
	schedules
		.command("ls <topic>", { isDefault: true })
		.description("every schedule of the topic (the default)")
		.action(
			action(async ({ client, out }, topic: string) => {
				const list = await client.schedules.list(topic);
				out.result({ schedules: list }, () =>
					table(list, ["name", "cron", "timezone", "paused", "next_at", "last_at", "last_message_id"]),
				);
			}),
		);
	schedules
		.command("get <topic> <name>")
		.description("one schedule")
		.action(
			action(async ({ client, out }, topic: string, name: string) => {
				const s = await client.schedules.get(topic, name);
				out.result(s, () => fields(s));
			}),
		);
	schedules
		.command("set <topic> <name>")
		.description("create or replace a schedule: each firing publishes one message")
		.requiredOption("--cron <expr>", 'five fields: minute hour day-of-month month day-of-week, e.g. "30 2 * * *"')
		.option("--timezone <zone>", "IANA time zone (default UTC)")
		.option("--body <json>", "what each firing publishes (JSON)")
		.option("--key <key>", "ordering key of every firing's message")
		.option("--header <name=value>", "a header of every firing's message (repeatable)", collect)
		.option("--paused", "create it paused")
		.action(
			action(async ({ client, out, options }, topic: string, name: string) => {
				const s = await client.schedules.upsert(topic, name, {
					cron: options.cron as string,
					...(options.timezone === undefined ? {} : { timezone: options.timezone as string }),
					...(options.body === undefined ? {} : { body: json(options.body as string, "--body") }),
					...(options.key === undefined ? {} : { key: options.key as string }),
					...(options.header === undefined ? {} : { headers: headers(options.header as string[]) }),
					...(options.paused === true ? { paused: true } : {}),
				});
				out.result(s, () => fields(s));
			}),
		);
	for (const verb of ["pause", "resume"] as const) {
		schedules
			.command(`${verb} <topic> <name>`)
			.description(verb === "pause" ? "skip the schedule's firings until resumed" : "fire the schedule again")
			.action(
				action(async ({ client, out }, topic: string, name: string) => {
					const s = await client.schedules[verb](topic, name);
					out.result(s, () => `${s.name}: ${s.paused ? "paused" : `active, next ${s.next_at}`}`);
				}),
			);
	}
	schedules
		.command("delete <topic> <name>")
		.description("delete a schedule; nothing fires after this")
		.option("--yes", "confirm")
		.action(
			action(async ({ client, out, options }, topic: string, name: string) => {
				confirm(options, "schedules delete");
				const res = await client.schedules.delete(topic, name);
				out.result(res, () => `deleted schedule ${res.name}`);
			}),
		);
	return schedules;
}
