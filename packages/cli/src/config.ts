import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { UsageError } from "./output.js";

/** What `sundial login` stores. */
export interface StoredConfig {
	url?: string;
	token?: string;
}

/** Where the config lives: `$XDG_CONFIG_HOME/sundial/config.json`, else `~/.config/sundial/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
	const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== "" ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
	return join(base, "sundial", "config.json");
}

/** The stored config; `{}` when there is none. */
export function readConfig(path: string = configPath()): StoredConfig {
	let text: string;
	try {
		text = readFileSync(path, "utf8");
	} catch {
		return {};
	}
	try {
		const parsed = JSON.parse(text) as StoredConfig;
		return { url: parsed.url, token: parsed.token };
	} catch {
		throw new UsageError(`${path} is not JSON: run \`sundial login\` again`);
	}
}

/** Writes the config readable by its owner only (directory 0700, file 0600, also when it existed). */
export function writeConfig(config: StoredConfig, path: string = configPath()): void {
	mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
	writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
	chmodSync(path, 0o600);
}

/** Which Worker to talk to and with which token: flags, then SUNDIAL_URL / SUNDIAL_TOKEN, then the config file. */
export function resolveTarget(
	flags: { url?: string; token?: string },
	env: NodeJS.ProcessEnv = process.env,
): { url: string; token: string } {
	const stored = flags.url && flags.token ? {} : readConfig(configPath(env));
	const url = flags.url ?? nonEmpty(env.SUNDIAL_URL) ?? stored.url;
	const token = flags.token ?? nonEmpty(env.SUNDIAL_TOKEN) ?? stored.token;
	if (!url) throw new UsageError("no Sundial URL: run `sundial login`, or pass --url or set SUNDIAL_URL");
	if (!token) throw new UsageError("no token: run `sundial login`, or pass --token or set SUNDIAL_TOKEN");
	return { url, token };
}

function nonEmpty(value: string | undefined): string | undefined {
	return value === undefined || value === "" ? undefined : value;
}
