import { isSundialError, type SundialError } from "sundial-sdk";

/** Exit codes (packages/cli/README.md). */
export const EXIT = {
	ok: 0,
	/** The API refused the request (400, 409, 413, …) or some items of an import failed. */
	api: 1,
	/** Bad arguments or options: nothing was sent. */
	usage: 2,
	/** 404: no such topic, subscription, message or schedule. */
	notFound: 3,
	/** 401 or 403: the token is missing, wrong, revoked or lacks the scope. */
	auth: 4,
	/** No answer: connection refused, reset or timed out. */
	network: 5,
} as const;

/** A mistake in how the command was called; exits 2 before anything is sent. */
export class UsageError extends Error {
	override readonly name = "UsageError";
}

/** A command's failure that is already reported and only needs its exit code (e.g. an import with failed items). */
export class ExitWith extends Error {
	constructor(readonly code: number) {
		super(`exit ${code}`);
	}
}

/** How a command prints: JSON only on stdout with `--json`, text otherwise; notes always go to stderr. */
export class Output {
	constructor(
		readonly json: boolean,
		private readonly stdout: NodeJS.WritableStream = process.stdout,
		private readonly stderr: NodeJS.WritableStream = process.stderr,
	) {}

	/** Prints `value` as JSON with `--json`, else `text()`. */
	result(value: unknown, text: () => string): void {
		this.stdout.write(this.json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
	}

	/** A note for people (never on stdout, so `--json` output stays parseable). */
	note(line: string): void {
		this.stderr.write(`${line}\n`);
	}

	/** Reports a failure and returns its exit code. */
	error(error: unknown): number {
		const code = exitCodeOf(error);
		if (error instanceof ExitWith) return code;
		const body = isSundialError(error)
			? { status: error.status, code: error.code, message: error.message, issues: error.issues }
			: {
					status: 0,
					code: error instanceof UsageError ? "usage" : "error",
					message: String((error as Error)?.message ?? error),
					issues: [],
				};
		if (this.json) this.stdout.write(`${JSON.stringify({ error: body })}\n`);
		this.stderr.write(`sundial: ${describe(error)}\n`);
		return code;
	}
}

/** The exit code for a failure. */
export function exitCodeOf(error: unknown): number {
	if (error instanceof ExitWith) return error.code;
	if (error instanceof UsageError) return EXIT.usage;
	if (!isSundialError(error)) return EXIT.api;
	if (error.status === 401 || error.status === 403) return EXIT.auth;
	if (error.status === 404) return EXIT.notFound;
	if (error.status === 0) return error.code === "invalid_request" ? EXIT.usage : EXIT.network;
	return EXIT.api;
}

function describe(error: unknown): string {
	if (!isSundialError(error)) return (error as Error)?.message ?? String(error);
	const e = error as SundialError;
	const head = e.status === 0 ? `${e.code}: ${e.message}` : `${e.status} ${e.code}: ${e.message}`;
	return [head, ...e.issues.map((i) => `  ${i.path}: ${i.message}`)].join("\n");
}

/** Aligned columns for lists, with a header row. */
export function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
	const cells = rows.map((row) => columns.map((c) => cell(row[c])));
	const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
	const line = (values: readonly string[]) =>
		values
			.map((v, i) => v.padEnd(widths[i] as number))
			.join("  ")
			.trimEnd();
	return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n");
}

function cell(value: unknown): string {
	if (value === null || value === undefined) return "-";
	if (typeof value === "object") return JSON.stringify(value);
	return String(value);
}

/** `key: value` lines for one object (nested objects as JSON). */
export function fields(value: Record<string, unknown>): string {
	const width = Math.max(...Object.keys(value).map((k) => k.length));
	return Object.entries(value)
		.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${cell(v)}`)
		.join("\n");
}
