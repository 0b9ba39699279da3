import { Command } from "commander";
import { isSundialError, Sundial } from "sundial-sdk";
import { configPath, writeConfig } from "../config.js";
import { type GlobalOptions, outputOf } from "../context.js";
import { UsageError } from "../output.js";

/** `sundial login --url … --token …` */
export function loginCommand(): Command {
	return new Command("login")
		.description("check a URL and token against the Worker, then store them for later commands (file mode 0600)")
		.option("--no-verify", "store without calling the Worker")
		.addHelpText(
			"after",
			'\nExample:\n  sundial login --url https://sundial.example.workers.dev --token "$SUNDIAL_TOKEN"',
		)
		.action(async (_options: unknown, command: Command) => {
			const options = command.optsWithGlobals<GlobalOptions & { verify: boolean }>();
			const out = outputOf(command);
			const url = options.url ?? process.env.SUNDIAL_URL;
			const token = options.token ?? process.env.SUNDIAL_TOKEN;
			if (!url || !token) throw new UsageError("login needs --url and --token (or SUNDIAL_URL and SUNDIAL_TOKEN)");
			if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url: expected http(s)://host, got "${url}"`);
			const client = new Sundial({ url, token, retry: false });
			if (options.verify) {
				// A scoped token without `read` answers 403 here and is still valid; only 401 means it is not.
				await client.topics.list({ limit: 1 }).catch((error: unknown) => {
					if (!isSundialError(error) || error.status !== 403) throw error;
				});
			}
			const path = configPath();
			writeConfig({ url: url.replace(/\/+$/, ""), token });
			out.result({ url, config: path }, () => `logged in to ${url}; stored in ${path}`);
		});
}
