import { accessSync, constants, statSync } from "node:fs";
import { tmpdir } from "node:os";

const startedMs = Date.now();

export function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}

/** A progress line on stderr, stamped with the time since the bench started. */
export function progress(message: string): void {
	const s = ((Date.now() - startedMs) / 1000).toFixed(1).padStart(6);
	process.stderr.write(`[${s}s] ${message}\n`);
}

/** Seconds since the bench started. */
export function elapsedS(): number {
	return (Date.now() - startedMs) / 1000;
}

/** /dev/shm when it is a writable directory (local storage on disk stalls now and then), else the OS temp dir. */
export function stateBase(): string {
	try {
		if (statSync("/dev/shm").isDirectory()) {
			accessSync("/dev/shm", constants.W_OK);
			return "/dev/shm";
		}
	} catch {
		// no tmpfs
	}
	return tmpdir();
}

/** Runs `task(0 … count-1)` with at most `inFlight` running at once; rejects on the first failure. */
export async function inParallel(count: number, inFlight: number, task: (i: number) => Promise<void>): Promise<void> {
	let next = 0;
	const lane = async () => {
		while (next < count) await task(next++);
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
}

/** Polls `done()` every `everyMs` until it is true or `timeoutMs` passed; returns whether it became true. */
export async function waitUntil(done: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (await done()) return true;
		if (Date.now() >= deadline) return false;
		await sleep(everyMs);
	}
}
