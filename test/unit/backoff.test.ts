import { describe, expect, it } from "vitest";
import type { RetryPolicy } from "../../src/delivery/backoff";
import { backoffDelayMs, DEFAULT_RETRY, parseRetryAfterMs } from "../../src/delivery/backoff";
import { afterFailure, classify } from "../../src/delivery/classify";

const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({ ...DEFAULT_RETRY, jitter: false, ...p });
const never = () => {
	throw new Error("random must not be called");
};

describe("backoffDelayMs", () => {
	it("has the documented defaults", () => {
		expect(DEFAULT_RETRY).toEqual({
			maxAttempts: 10,
			backoff: "exponential",
			baseMs: 1000,
			maxMs: 3_600_000,
			jitter: true,
		});
	});

	it.each([
		[1, 1000],
		[2, 2000],
		[3, 4000],
		[10, 512_000],
		[12, 2_048_000],
		[13, 3_600_000],
		[100, 3_600_000],
		[10_000, 3_600_000],
	])("exponential without jitter: attempt %i waits %i ms (base·2^(n-1), capped at max)", (attempt, ms) => {
		expect(backoffDelayMs(policy({}), attempt, never)).toBe(ms);
	});

	it("treats attempt 0 or less as the first", () => {
		expect(backoffDelayMs(policy({}), 0, never)).toBe(1000);
		expect(backoffDelayMs(policy({}), -3, never)).toBe(1000);
	});

	it("exponential with jitter draws from [0, capped delay] using the injected random", () => {
		const p = policy({ jitter: true, baseMs: 1000, maxMs: 10_000 });
		expect(backoffDelayMs(p, 3, () => 0)).toBe(0);
		expect(backoffDelayMs(p, 3, () => 0.5)).toBe(2000);
		expect(backoffDelayMs(p, 3, () => 0.999_999_9)).toBe(4000);
		// Capped first, then jittered: attempt 20 draws from [0, max].
		expect(backoffDelayMs(p, 20, () => 0.999_999_9)).toBe(10_000);
		expect(backoffDelayMs(p, 20, () => 0.25)).toBe(2500);
		for (let i = 0; i < 200; i++) {
			const ms = backoffDelayMs(p, 1 + (i % 8), Math.random);
			expect(Number.isInteger(ms)).toBe(true);
			expect(ms).toBeGreaterThanOrEqual(0);
			expect(ms).toBeLessThanOrEqual(Math.min(10_000, 1000 * 2 ** (i % 8)));
		}
	});

	it.each([
		[1, 500],
		[2, 1000],
		[7, 3500],
		[8, 4000],
		[50, 4000],
	])("linear: attempt %i waits %i ms (base·n, capped at max)", (attempt, ms) => {
		expect(backoffDelayMs(policy({ backoff: "linear", baseMs: 500, maxMs: 4000 }), attempt, never)).toBe(ms);
	});

	it("fixed waits base on every attempt, never above max", () => {
		const p = policy({ backoff: "fixed", baseMs: 1500, maxMs: 60_000 });
		expect([1, 2, 5, 99].map((n) => backoffDelayMs(p, n, never))).toEqual([1500, 1500, 1500, 1500]);
		expect(backoffDelayMs(policy({ backoff: "fixed", baseMs: 5000, maxMs: 2000 }), 1, never)).toBe(2000);
	});

	it("jitter applies to exponential only", () => {
		expect(backoffDelayMs(policy({ backoff: "linear", jitter: true }), 3, never)).toBe(3000);
		expect(backoffDelayMs(policy({ backoff: "fixed", jitter: true }), 3, never)).toBe(1000);
	});

	it("a zero base means no wait", () => {
		expect(backoffDelayMs(policy({ baseMs: 0 }), 5, never)).toBe(0);
		expect(backoffDelayMs(policy({ backoff: "linear", baseMs: 0 }), 5, never)).toBe(0);
	});
});

describe("parseRetryAfterMs", () => {
	const now = Date.parse("2026-12-01T09:00:00Z");

	it.each([
		["120", 120_000],
		["0", 0],
		[" 5 ", 5000],
		["86400", 86_400_000],
	])("reads delta seconds %j as %i ms", (header, ms) => {
		expect(parseRetryAfterMs(header, now)).toBe(ms);
	});

	it("reads an HTTP date as the time until it, a past date as 0", () => {
		expect(parseRetryAfterMs("Tue, 01 Dec 2026 09:00:30 GMT", now)).toBe(30_000);
		expect(parseRetryAfterMs(new Date(now + 3_600_000).toUTCString(), now)).toBe(3_600_000);
		expect(parseRetryAfterMs("Tue, 01 Dec 2026 08:00:00 GMT", now)).toBe(0);
	});

	it.each([[null], [""], ["soon"], ["1.5"], ["-5"], ["5s"], ["Mon, 99 Foo 2026 GMT"]])(
		"gives null for absent or unreadable %j",
		(header) => {
			expect(parseRetryAfterMs(header, now)).toBeNull();
		},
	);
});

describe("classify", () => {
	const now = Date.parse("2026-12-01T09:00:00Z");

	it.each([[200], [201], [202], [204], [299]])("counts HTTP %i as delivered", (status) => {
		expect(classify({ kind: "response", status, retryAfter: null }, now)).toEqual({ kind: "delivered", status });
	});

	it.each([[100], [301], [302], [304], [400], [404], [410], [429], [500], [503]])(
		"counts HTTP %i as failed, redirects included",
		(status) => {
			expect(classify({ kind: "response", status, retryAfter: null }, now)).toEqual({
				kind: "failed",
				status,
				error: `HTTP ${status}`,
				retryAfterMs: null,
			});
		},
	);

	it("carries Retry-After of a failed response, seconds or HTTP date", () => {
		expect(classify({ kind: "response", status: 429, retryAfter: "10" }, now)).toMatchObject({ retryAfterMs: 10_000 });
		expect(classify({ kind: "response", status: 503, retryAfter: "Tue, 01 Dec 2026 09:01:00 GMT" }, now)).toMatchObject(
			{ retryAfterMs: 60_000 },
		);
		expect(classify({ kind: "response", status: 200, retryAfter: "10" }, now)).toEqual({
			kind: "delivered",
			status: 200,
		});
	});

	it("counts no answer as failed with its error and no status", () => {
		expect(classify({ kind: "error", error: "timed out after 30000 ms" }, now)).toEqual({
			kind: "failed",
			status: null,
			error: "timed out after 30000 ms",
			retryAfterMs: null,
		});
	});
});

describe("afterFailure", () => {
	const now = 1_000_000;

	it("retries after the backoff until max_attempts are used, then is dead", () => {
		const p = policy({ maxAttempts: 3, backoff: "exponential", baseMs: 1000, maxMs: 60_000 });
		expect(afterFailure(p, 1, null, now, never)).toEqual({ kind: "retry", atMs: now + 1000 });
		expect(afterFailure(p, 2, null, now, never)).toEqual({ kind: "retry", atMs: now + 2000 });
		expect(afterFailure(p, 3, null, now, never)).toEqual({ kind: "dead" });
		expect(afterFailure(p, 4, null, now, never)).toEqual({ kind: "dead" });
	});

	it("is dead after the first failure when max_attempts is 1", () => {
		expect(afterFailure(policy({ maxAttempts: 1 }), 1, null, now, never)).toEqual({ kind: "dead" });
	});

	it("uses the injected random for jitter", () => {
		const p = policy({ jitter: true, baseMs: 1000, maxMs: 60_000 });
		expect(afterFailure(p, 3, null, now, () => 0.5)).toEqual({ kind: "retry", atMs: now + 2000 });
		expect(afterFailure(p, 3, null, now, () => 0)).toEqual({ kind: "retry", atMs: now });
	});

	it("lets Retry-After override the computed delay, capped at max", () => {
		const p = policy({ backoff: "fixed", baseMs: 1000, maxMs: 60_000 });
		expect(afterFailure(p, 1, 30_000, now, never)).toEqual({ kind: "retry", atMs: now + 30_000 });
		expect(afterFailure(p, 1, 0, now, never)).toEqual({ kind: "retry", atMs: now });
		expect(afterFailure(p, 1, 10 * 3_600_000, now, never)).toEqual({ kind: "retry", atMs: now + 60_000 });
	});

	it("does not retry past max_attempts even with a Retry-After", () => {
		expect(afterFailure(policy({ maxAttempts: 2 }), 2, 1000, now, never)).toEqual({ kind: "dead" });
	});
});
