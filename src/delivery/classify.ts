import { backoffDelayMs, parseRetryAfterMs, type RetryPolicy } from "./backoff";

/** What one push attempt produced, before any policy is applied. */
export type AttemptResult =
	| { kind: "response"; status: number; retryAfter: string | null }
	| { kind: "sent" }
	| { kind: "error"; error: string };

/** The verdict on one attempt: the only place a response is judged. */
export type Verdict =
	| { kind: "delivered"; status: number | null }
	| { kind: "failed"; status: number | null; error: string; retryAfterMs: number | null };

/** A resolved queue send or a 2xx = delivered; anything else (3xx included: redirects are not followed), or no answer, failed. */
export function classify(result: AttemptResult, nowMs: number): Verdict {
	if (result.kind === "sent") return { kind: "delivered", status: null };
	if (result.kind === "error") return { kind: "failed", status: null, error: result.error, retryAfterMs: null };
	if (result.status >= 200 && result.status < 300) return { kind: "delivered", status: result.status };
	return {
		kind: "failed",
		status: result.status,
		error: `HTTP ${result.status}`,
		retryAfterMs: parseRetryAfterMs(result.retryAfter, nowMs),
	};
}

/** What to do after a failed attempt: retry at a time, or give up (dead). */
export type NextStep = { kind: "retry"; atMs: number } | { kind: "dead" };

/**
 * The step after failed attempt `attempt` (1-based) under `policy`: dead once `maxAttempts` are
 * used; else retry after the backoff, or after `Retry-After` when given, capped at `maxMs`.
 */
export function afterFailure(
	policy: RetryPolicy,
	attempt: number,
	retryAfterMs: number | null,
	nowMs: number,
	random: () => number = Math.random,
): NextStep {
	if (attempt >= policy.maxAttempts) return { kind: "dead" };
	const waitMs = retryAfterMs !== null ? Math.min(retryAfterMs, policy.maxMs) : backoffDelayMs(policy, attempt, random);
	return { kind: "retry", atMs: nowMs + waitMs };
}
