import { env } from "cloudflare:workers";
import type { ProbeEnv } from "./probe";

/** A probe object by name (one per test: storage is shared within a file). */
export function probe(name: string) {
	return (env as unknown as ProbeEnv).OUTBOX_PROBE.getByName(name);
}

/** Polls `read` until `done` holds for its value (or throws after `timeoutMs` with the last value). */
export async function eventually<T>(
	read: () => Promise<T>,
	done: (value: T) => boolean,
	timeoutMs = 10_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await read();
		if (done(value)) return value;
		if (Date.now() > deadline) throw new Error(`still not there after ${timeoutMs} ms: ${JSON.stringify(value)}`);
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
