/** How the wait before the next attempt grows. */
export type BackoffKind = "exponential" | "linear" | "fixed";

/** When and how often a failed delivery is tried again. */
export interface RetryPolicy {
	/** Attempts before the delivery is dead, 1–100. @default 10 */
	maxAttempts: number;
	/** @default "exponential" */
	backoff: BackoffKind;
	/** @default 1000 */
	baseMs: number;
	/** Upper bound of any wait, also of a Retry-After. @default 3600000 */
	maxMs: number;
	/** Full jitter on exponential waits. @default true */
	jitter: boolean;
}

/** The default retry policy (DESIGN.md "Subscription body"). */
export const DEFAULT_RETRY: RetryPolicy = {
	maxAttempts: 10,
	backoff: "exponential",
	baseMs: 1000,
	maxMs: 3_600_000,
	jitter: true,
};

/**
 * How long to wait after failed attempt number `attempt` (1-based): exponential = base·2^(n-1)
 * capped at max, with full jitter when `jitter`; linear = base·n; fixed = base. Never above max.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
	const n = Math.max(1, attempt);
	let delayMs: number;
	switch (policy.backoff) {
		case "exponential": {
			const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 52));
			delayMs = policy.jitter ? Math.floor(random() * (capped + 1)) : capped;
			break;
		}
		case "linear":
			delayMs = policy.baseMs * n;
			break;
		case "fixed":
			delayMs = policy.baseMs;
			break;
	}
	return Math.min(policy.maxMs, Math.max(0, delayMs));
}

/**
 * Parses a `Retry-After` header (delta seconds or an HTTP date) into a wait in milliseconds, or
 * null when absent or unreadable. A date in the past is a wait of 0.
 */
export function parseRetryAfterMs(header: string | null, nowMs: number): number | null {
	if (header === null) return null;
	const text = header.trim();
	if (/^\d+$/.test(text)) return Number(text) * 1000;
	if (!/[a-z]/i.test(text)) return null;
	const atMs = Date.parse(text);
	if (Number.isNaN(atMs)) return null;
	return Math.max(0, atMs - nowMs);
}
