import { readFileSync } from "node:fs";
import { Command } from "commander";
import { deadCommand } from "./commands/dead.js";
import { loginCommand } from "./commands/login.js";
import { cancelCommand, getCommand, publishCommand, rescheduleCommand } from "./commands/messages.js";
import { schedulesCommand } from "./commands/schedules.js";
import { statsCommand } from "./commands/stats.js";
import { subsCommand } from "./commands/subs.js";
import { tailCommand } from "./commands/tail.js";
import { tokensCommand } from "./commands/tokens.js";
import { topicsCommand } from "./commands/topics.js";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
	.version;

/** The `sundial` command with every subcommand. */
export function buildProgram(): Command {
	const program = new Command("sundial")
		.description("Publish, inspect and steer the messages of a Sundial delay queue.")
		.version(VERSION)
		.option("--url <url>", "the Worker's URL (else SUNDIAL_URL, else what `sundial login` stored)")
		.option("--token <token>", "bearer token (else SUNDIAL_TOKEN, else what `sundial login` stored)")
		.option("--json", 'print machine-readable JSON only on stdout (errors as {"error": …})')
		.addHelpText(
			"after",
			`
Exit codes: 0 ok, 1 API error (or failed lines of an import), 2 usage error, 3 not found,
4 auth (401/403), 5 network (no answer).`,
		);
	for (const command of [
		loginCommand(),
		topicsCommand(),
		subsCommand(),
		publishCommand(),
		getCommand(),
		cancelCommand(),
		rescheduleCommand(),
		deadCommand(),
		statsCommand(),
		schedulesCommand(),
		tailCommand(),
		tokensCommand(),
	]) {
		program.addCommand(command);
	}
	everyCommand(program, (command) => {
		command.exitOverride();
		command.configureHelp({ showGlobalOptions: true });
		command.showHelpAfterError("(add --help for usage)");
	});
	return program;
}

function everyCommand(command: Command, fn: (command: Command) => void): void {
	fn(command);
	for (const sub of command.commands) everyCommand(sub, fn);
}
