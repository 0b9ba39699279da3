import { Command } from "commander";
import type { DeadDelivery } from "sundial-sdk";
import { action, confirm } from "../context.js";
import { table, UsageError } from "../output.js";
import { listOptions, pageOf } from "./lists.js";
import { more } from "./topics.js";

/** `sundial dead ls | redrive | purge` */
export function deadCommand(): Command {
	const dead = new Command("dead").description("a subscription's dead letters: list, redrive, purge");
	listOptions(
		dead.command("ls <topic> <subscription>").description("dead deliveries with their last status and error"),
	).action(
		action(async ({ client, out, options }, topic: string, subscription: string) => {
			const page = await pageOf<DeadDelivery>(options, (p) => client.dead.list(topic, subscription, p));
			out.result({ dead: page.items, next_cursor: page.next_cursor }, () =>
				[
					table(page.items, ["message_id", "attempts", "last_status", "last_error", "dead_at"]),
					...more(page.next_cursor),
				].join("\n"),
			);
		}),
	);
	dead
		.command("redrive <topic> <subscription> [ids...]")
		.description("schedule dead deliveries again now, attempts reset: the given message ids, or --all")
		.option("--all", "every dead delivery of the subscription")
		.action(
			action(async ({ client, out, options }, topic: string, subscription: string, ids: string[]) => {
				if (ids.length > 0 === (options.all === true)) throw new UsageError("give message ids or --all");
				const res = await client.dead.redrive(topic, subscription, ids.length > 0 ? ids : undefined);
				out.result(
					res,
					() => `redriven ${res.redriven}${res.pending > 0 ? `, ${res.pending} more in the background` : ""}`,
				);
			}),
		);
	dead
		.command("purge <topic> <subscription>")
		.description("delete every dead delivery of the subscription")
		.option("--yes", "confirm")
		.action(
			action(async ({ client, out, options }, topic: string, subscription: string) => {
				confirm(options, "dead purge");
				const res = await client.dead.purge(topic, subscription);
				out.result(
					res,
					() => `purged ${res.purged}${res.pending > 0 ? `, ${res.pending} more in the background` : ""}`,
				);
			}),
		);
	return dead;
}
