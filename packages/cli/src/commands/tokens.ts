import { Command } from "commander";
import { action, collect, confirm, duration } from "../context.js";
import { fields, table, UsageError } from "../output.js";

const SCOPES = ["publish", "consume", "read", "admin"] as const;
type Scope = (typeof SCOPES)[number];

/** `sundial tokens create | ls | revoke` (needs the admin token). */
export function tokensCommand(): Command {
	const tokens = new Command("tokens").description("scoped tokens: create, list, revoke (admin)");
	tokens
		.command("create <name>")
		.description("create a token; it is printed this once (Sundial keeps only its hash)")
		.requiredOption("--scope <scope>", `${SCOPES.join(", ")} (repeatable)`, collect)
		.option("--topic <pattern>", 'a topic name, or a prefix ending in "*" (repeatable; default every topic)', collect)
		.option("--expires-in <duration>", "e.g. 90d; default never")
		.action(
			action(async ({ client, out, options }, name: string) => {
				const scopes = options.scope as string[];
				const bad = scopes.filter((s) => !SCOPES.includes(s as Scope));
				if (bad.length > 0) throw new UsageError(`--scope: unknown ${bad.join(", ")} (one of ${SCOPES.join(", ")})`);
				const created = await client.tokens.create({
					name,
					scopes: scopes as Scope[],
					...(options.topic === undefined ? {} : { topics: options.topic as string[] }),
					...(options.expiresIn === undefined
						? {}
						: { expires_in: duration(options.expiresIn as string, "--expires-in") }),
				});
				out.result(created, () => `${fields(created)}\nStore the token now: it is not shown again.`);
			}),
		);
	tokens
		.command("ls", { isDefault: true })
		.description("every token, newest first (id and prefix, never the token)")
		.action(
			action(async ({ client, out }) => {
				const list = await client.tokens.list();
				out.result({ tokens: list }, () =>
					table(
						list.map((t) => ({ ...t, scopes: t.scopes.join(","), topics: t.topics.join(",") })),
						["id", "name", "prefix", "scopes", "topics", "expires_at", "last_used_at"],
					),
				);
			}),
		);
	tokens
		.command("revoke <id>")
		.description("revoke a token: refused everywhere within seconds")
		.option("--yes", "confirm")
		.action(
			action(async ({ client, out, options }, id: string) => {
				confirm(options, "tokens revoke");
				const res = await client.tokens.revoke(id);
				out.result(res, () => (res.deleted ? `revoked ${id}` : `${id}: no such token`));
			}),
		);
	return tokens;
}
