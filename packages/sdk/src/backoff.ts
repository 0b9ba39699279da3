/** How the SDK retries a call that may be repeated safely. */
export interface RetryOptions {
	/** Retries after the first attempt. @default 3 */
	retries?: number;
	/** First wait; each retry may wait up to twice the one before (full jitter). @default 250 */
	baseDelayMs?: number;
	/** Longest wait, also the cap on a `Retry-After` the API sends. @default 10_000 */
	maxDelayMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 250, maxDelayMs: 10_000 };

/** `options` over the defaults; `false` means no retries. */
export function retryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
	if (options === false) return { ...DEFAULT_RETRY, retries: 0 };
	return { ...DEFAULT_RETRY, ...options };
}

/**
 * The wait before retry number `retry` (1-based): exponential with full jitter, between 0 and
 * min(maxDelayMs, baseDelayMs·2^(retry-1)); a `Retry-After` the API sent wins, capped at maxDelayMs.
 * `random` is injectable for tests.
 */
export function retryDelayMs(
	policy: RetryPolicy,
	retry: number,
	retryAfterMs?: number,
	random: () => number = Math.random,
): number {
	if (retryAfterMs !== undefined) return Math.min(policy.maxDelayMs, Math.max(0, retryAfterMs));
	const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
	return Math.floor(random() * ceilingMs);
}

/** A `Retry-After` header (seconds or an HTTP date) in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfterMs(header: string | null, nowMs: number = Date.now()): number | undefined {
	if (header === null || header.trim() === "") return undefined;
	const text = header.trim();
	if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
	const atMs = Date.parse(text);
	return Number.isNaN(atMs) ? undefined : Math.max(0, atMs - nowMs);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const timer = setTimeout(() => {
			signal?.removeEventListener("abort", onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason);
		};
		signal?.addEventListener("abort", onAbort, { once: true });
	});
}
