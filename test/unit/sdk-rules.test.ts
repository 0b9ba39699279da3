import { describe, expect, it } from "vitest";
import { parseRetryAfterMs, retryDelayMs, retryPolicy } from "../../packages/sdk/src/backoff.js";
import { parseDurationMs as sdkDurationMs } from "../../packages/sdk/src/time.js";
import { anySignal } from "../../packages/sdk/src/transport.js";
import { parseDurationMs as workerDurationMs } from "../../src/time";

describe("sundial-sdk rules", () => {
	it("reads durations exactly as the Worker does", () => {
		const inputs = [0, 1.5, 30, "250ms", "30s", "5m", "2h", "7d", "1h30m", ".5s", "1.5", "2d3h4m5s6ms", " 10s "];
		for (const input of inputs) expect(sdkDurationMs(input as never), String(input)).toBe(workerDurationMs(input));
		for (const bad of ["", "soon", "5 m", "-1s", "1w", -1, Number.NaN]) {
			expect(() => sdkDurationMs(bad as never), String(bad)).toThrow();
			expect(() => workerDurationMs(bad), String(bad)).toThrow();
		}
	});

	it("backs off exponentially with full jitter, capped, and lets Retry-After win up to the cap", () => {
		const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1_000 });
		expect(policy.retries).toBe(3);
		expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n, undefined, () => 0.999))).toEqual([
			99, 199, 399, 799, 999,
		]);
		expect(retryDelayMs(policy, 3, undefined, () => 0)).toBe(0);
		expect(retryDelayMs(policy, 1, 400)).toBe(400);
		expect(retryDelayMs(policy, 1, 60_000)).toBe(1_000);
		expect(retryPolicy(false).retries).toBe(0);
	});

	it("reads Retry-After as seconds or an HTTP date", () => {
		const nowMs = Date.parse("2026-12-01T09:00:00Z");
		expect(parseRetryAfterMs("2", nowMs)).toBe(2_000);
		expect(parseRetryAfterMs("Tue, 01 Dec 2026 09:00:05 GMT", nowMs)).toBe(5_000);
		expect(parseRetryAfterMs("Tue, 01 Dec 2026 08:00:00 GMT", nowMs)).toBe(0);
		expect(parseRetryAfterMs(null, nowMs)).toBeUndefined();
		expect(parseRetryAfterMs("soon", nowMs)).toBeUndefined();
	});
});

describe("sundial-sdk signals where AbortSignal.any is missing (Node 20.0–20.2, older browsers)", () => {
	it("aborts with the first source's reason, and stops listening once released", () => {
		const a = new AbortController();
		const b = new AbortController();
		const { signal, release } = anySignal([a.signal, b.signal], null);
		expect(signal.aborted).toBe(false);
		b.abort("b first");
		expect(signal.aborted).toBe(true);
		expect(signal.reason).toBe("b first");

		const c = new AbortController();
		const second = anySignal([c.signal], null);
		second.release();
		c.abort("late");
		expect(second.signal.aborted).toBe(false);
		release();
	});

	it("is aborted at once when a source already is", () => {
		expect(anySignal([AbortSignal.abort("done")], null).signal.reason).toBe("done");
	});
});
