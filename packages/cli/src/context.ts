import type { Command } from "commander";
import { type Duration, type Instant, parseDurationMs, Sundial } from "sundial-sdk";
import { resolveTarget } from "./config.js";
import { Output, UsageError } from "./output.js";

/** The options every command takes (declared on the program, usable after the subcommand too). */
export interface GlobalOptions {
	url?: string;
	token?: string;
	json?: boolean;
}

/** What a command's action works with. */
export interface Context {
	client: Sundial;
	out: Output;
	/** The command's own options merged with the global ones. */
	options: Record<string, unknown>;
}

/** The output of a command, from its `--json`. */
export function outputOf(command: Command): Output {
	return new Output(Boolean(command.optsWithGlobals<GlobalOptions>().json));
}

/** The client and output of a command, from its global options, the environment and the config file. */
export function contextOf(
	command: Command,
	clientOptions: { retry?: ConstructorParameters<typeof Sundial>[0]["retry"] } = {},
): Context {
	const options = command.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
	const target = resolveTarget(options);
	if (!/^https?:\/\/[^/]/.test(target.url))
		throw new UsageError(`the Sundial URL must be http(s)://host, got "${target.url}"`);
	return { client: new Sundial({ ...target, ...clientOptions }), out: outputOf(command), options };
}

/** A command action given its context: commander hands actions their arguments, options and the command last. */
export function action<A extends unknown[]>(
	fn: (ctx: Context, ...args: A) => Promise<void>,
): (...all: unknown[]) => Promise<void> {
	return async (...all: unknown[]) => {
		const command = all.at(-1) as Command;
		await fn(contextOf(command), ...(all.slice(0, -2) as A));
	};
}

/** A `--delay`/`--timeout`-style option: checked here so a typo exits 2 before anything is sent. */
export function duration(value: string, option: string): Duration {
	try {
		parseDurationMs(value as Duration);
	} catch {
		throw new UsageError(`${option}: "${value}" is not a duration (seconds, or like 250ms, 30s, 5m, 2h, 7d, 1h30m)`);
	}
	return value as Duration;
}

/** An `--at`-style option: unix seconds, or RFC 3339 (checked by the API). */
export function instant(value: string, option: string): Instant {
	if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
	if (Number.isNaN(Date.parse(value)))
		throw new UsageError(`${option}: "${value}" is not an instant (RFC 3339 or unix seconds)`);
	return value;
}

/** A whole number option within bounds. */
export function integer(value: string, option: string, min: number, max: number): number {
	const n = Number(value);
	if (!Number.isInteger(n) || n < min || n > max)
		throw new UsageError(`${option}: expected a whole number ${min}–${max}, got "${value}"`);
	return n;
}

/** A JSON argument. */
export function json(value: string, what: string): unknown {
	try {
		return JSON.parse(value);
	} catch {
		throw new UsageError(`${what} is not JSON: ${value.length > 80 ? `${value.slice(0, 80)}…` : value}`);
	}
}

/** Repeated `--header name=value` (or `name: value`) options as an object. */
export function headers(list: readonly string[] | undefined): Record<string, string> | undefined {
	if (!list || list.length === 0) return undefined;
	const out: Record<string, string> = {};
	for (const item of list) {
		const match = item.match(/^([^=:\s]+)\s*[=:]\s*(.*)$/);
		if (!match) throw new UsageError(`--header: expected name=value, got "${item}"`);
		out[match[1] as string] = match[2] as string;
	}
	return out;
}

/** Commander's collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
	return [...previous, value];
}

/** Refuses a destructive command without `--yes`. */
export function confirm(options: Record<string, unknown>, what: string): void {
	if (options.yes !== true) throw new UsageError(`${what}: pass --yes to confirm`);
}
