/**
 * How long a topic waits after `failures` failed sends in a row: `minMs` doubled per failure after
 * the first, capped at `maxMs`, less up to a quarter of random jitter (so that many objects whose
 * sends failed together do not all come back at the same millisecond), never under `minMs`.
 * With the defaults: 1 s, 1.5–2 s, 3–4 s, … up to 3.75–5 min.
 */
export function backoffMs(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
	const exponent = Math.min(Math.max(0, failures - 1), 40);
	const capped = Math.min(maxMs, minMs * 2 ** exponent);
	const jittered = capped * (0.75 + 0.25 * random());
	return Math.round(Math.min(maxMs, Math.max(minMs, jittered)));
}
