import { describe, expect, it } from "vitest";
import { parseUpstashDelayMs, parseUpstashTimeoutMs } from "../../src/delivery/qstash-durations";
import { QstashHeaderError } from "../../src/delivery/qstash-header-error";
import {
	nextQstashAttempt,
	parseResponseWaitMs,
	type QstashFailedAttempt,
	qstashDefaultBackoffMs,
	responseWaitMs,
} from "../../src/delivery/qstash-retry";
import { evaluateRetryDelayMs, parseRetryDelayExpression } from "../../src/delivery/qstash-retry-expression";

const delayOf = (source: string, retried = 0) => evaluateRetryDelayMs(parseRetryDelayExpression(source), retried);

function headerError(fn: () => unknown, header: string): QstashHeaderError {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(QstashHeaderError);
		const typed = error as QstashHeaderError;
		expect(typed.status).toBe(400);
		expect(typed.header).toBe(header);
		expect(typed.message.startsWith(`${header}: `)).toBe(true);
		return typed;
	}
	throw new Error(`expected ${header} to be rejected`);
}

describe("Upstash-Retry-Delay expressions", () => {
	it.each([
		["1000", 0, 1000],
		["1 + 2 * 3", 0, 7],
		["(1 + 2) * 3", 0, 9],
		["10 - 4 - 3", 0, 3],
		["100 / 10 / 2", 0, 5],
		["7 % 4 + 2 * 5 % 3", 0, 4],
		["-2 * 3 + 10", 0, 4],
		["10 - -3", 0, 13],
		["--5", 0, 5],
		["-(1 + 2) + 10", 0, 7],
		["1.5 * 1000", 0, 1500],
		[".5 * 1000", 0, 500],
		["\t1000 *(1+retried) ", 3, 4000],
		["pow(2, retried) * 1000", 0, 1000],
		["pow(2, retried) * 1000", 3, 8000],
		["max(1000, pow(2, retried) * 100)", 2, 1000],
		["max(1000, pow(2, retried) * 100)", 5, 3200],
		["min(3, 5) + max(3, 5)", 0, 8],
		["sqrt(16) + abs(-5) + exp(0)", 0, 10],
		["floor(2.7) + ceil(2.1)", 0, 5],
		["round(2.5)", 0, 3],
		["round(2.4)", 0, 2],
		["round(-2.5) + 10", 0, 7],
		["retried * retried", 4, 16],
	])("%s with retried=%i is %i ms", (source, retried, ms) => {
		expect(delayOf(source, retried)).toBe(ms);
	});

	it.each([
		["-5", 0],
		["0 - 1000", 0],
		["1.9", 1],
		["pow(10, 9)", 86_400_000],
		["86400000 + 1", 86_400_000],
		["pow(10, 400)", 86_400_000],
		["-pow(10, 400)", 0],
	])("clamps %s to %i ms (0 … 86,400,000, whole ms)", (source, ms) => {
		expect(delayOf(source)).toBe(ms);
	});

	it("treats division or remainder by zero as undefined (null: the default backoff applies)", () => {
		expect(delayOf("1000 / retried", 0)).toBeNull();
		expect(delayOf("1000 / retried", 2)).toBe(500);
		expect(delayOf("5 % 0")).toBeNull();
		expect(delayOf("1000 + 1 / (retried - retried)", 3)).toBeNull();
		expect(delayOf("0 / 0")).toBeNull();
		expect(delayOf("sqrt(-1)")).toBeNull();
	});

	it("parses into plain data that survives JSON and keeps its source", () => {
		const parsed = parseRetryDelayExpression("1 + 2 * -retried");
		expect(parsed).toEqual({
			source: "1 + 2 * -retried",
			root: {
				op: "+",
				left: { op: "num", value: 1 },
				right: { op: "*", left: { op: "num", value: 2 }, right: { op: "neg", arg: { op: "retried" } } },
			},
		});
		const revived = JSON.parse(JSON.stringify(parsed));
		expect(evaluateRetryDelayMs(revived, 0)).toBe(1);
		expect(parseRetryDelayExpression(parsed.source)).toEqual(parsed);
	});

	it.each([
		["", /is empty/],
		["   ", /is empty/],
		["(1 + 2", /expected "\)" to close "\(" at position 1, found the end/],
		["((1)", /expected "\)"/],
		["1 + 2)", /unexpected "\)" at position 6/],
		["1 2", /unexpected number 2 at position 3/],
		["1 +", /ends where a number/],
		["+1", /unexpected "\+" at position 1/],
		["2 ^ 3", /unexpected character "\^" at position 3/],
		["foo", /unknown identifier "foo"/],
		["retried2 * 10", /unknown identifier "retried2"/],
		["Retried", /unknown identifier "Retried"/],
		["foo(1)", /unknown function "foo"/],
		["log(10)", /unknown function "log"/],
		["retried(1)", /unexpected "\(" at position 8/],
		["pow", /expected "\(" after pow, found the end/],
		["pow(2)", /pow takes 2 argument\(s\), got 1/],
		["min(1, 2, 3)", /min takes 2 argument\(s\), got 3/],
		["sqrt(1, 2)", /sqrt takes 1 argument\(s\), got 2/],
		["abs()", /unexpected "\)"/],
		["pow(2,)", /unexpected "\)"/],
	])("rejects %j", (source, message) => {
		const error = headerError(() => parseRetryDelayExpression(source), "Upstash-Retry-Delay");
		expect(error.message).toMatch(message);
	});

	it("bounds the length at 256 characters", () => {
		const at256 = `${"1+".repeat(127)}10`;
		expect(at256).toHaveLength(256);
		expect(delayOf(at256)).toBe(137);
		const error = headerError(() => parseRetryDelayExpression(`${at256} `), "Upstash-Retry-Delay");
		expect(error.message).toMatch(/longer than 256 characters/);
	});

	it("bounds nesting at 32 levels of parentheses, calls and unary minus", () => {
		const nested = (n: number) => `${"(".repeat(n)}1${")".repeat(n)}`;
		expect(delayOf(nested(31))).toBe(1);
		expect(headerError(() => parseRetryDelayExpression(nested(32)), "Upstash-Retry-Delay").message).toMatch(
			/deeper than 32/,
		);
		expect(() => parseRetryDelayExpression(`${"abs(".repeat(40)}1${")".repeat(40)}`)).toThrow(/deeper than 32/);
		expect(() => parseRetryDelayExpression(`${"-".repeat(40)}1`)).toThrow(/deeper than 32/);
	});
});

describe("qstashDefaultBackoffMs: min(86400, e^(2.5·k)) s, in whole seconds", () => {
	it.each([
		[1, 12_000], // 12 s
		[2, 148_000], // 2 min 28 s
		[3, 1_808_000], // 30 min 8 s
		[4, 22_026_000], // 6 h 7 min 6 s
		[5, 86_400_000], // 24 h
		[99, 86_400_000],
	])("after failed attempt %i waits %i ms", (attempt, ms) => {
		expect(qstashDefaultBackoffMs(attempt)).toBe(ms);
	});
});

describe("waits named by response headers", () => {
	const nowMs = Date.UTC(2026, 0, 1); // Thu, 01 Jan 2026 00:00:00 GMT

	it.each([
		["30", 30_000],
		["1.5", 1500],
		["0", 0],
		[" 7 ", 7000],
		["86400", 86_400_000],
		["Thu, 01 Jan 2026 00:01:30 GMT", 90_000],
		["Thursday, 01-Jan-26 00:01:30 GMT", 90_000],
		["Thu Jan  1 00:01:30 2026", 90_000],
		["Wed, 31 Dec 2025 23:59:00 GMT", 0],
		["Fri, 02 Jan 2026 00:00:00 GMT", 86_400_000],
		["6m5s", 365_000],
		["500ms", 500],
		["1h", 3_600_000],
		["1.5s", 1500],
		["0s", 0],
	])("%j → %i ms", (value, ms) => {
		expect(parseResponseWaitMs(value, nowMs)).toBe(ms);
	});

	it.each([
		["86401"],
		["25h"],
		["Fri, 02 Jan 2026 00:00:01 GMT"],
		["1767225600"],
		["1d"],
		["-5"],
		["-5s"],
		["soon"],
		[""],
		["Thu, 01 Jan 2026 00:01:30"],
	])("%j is ignored (null): unreadable or over one day", (value) => {
		expect(parseResponseWaitMs(value, nowMs)).toBeNull();
	});

	const all = {
		"retry-after": "1",
		"x-ratelimit-reset": "2",
		"x-ratelimit-reset-requests": "3",
		"x-ratelimit-reset-tokens": "4",
	};
	const without = (...names: string[]) => new Headers(Object.entries(all).filter(([name]) => !names.includes(name)));

	it("reads Retry-After, X-RateLimit-Reset, -Reset-Requests, -Reset-Tokens in that order", () => {
		expect(responseWaitMs(new Headers(all), nowMs)).toBe(1000);
		expect(responseWaitMs(without("retry-after"), nowMs)).toBe(2000);
		expect(responseWaitMs(without("retry-after", "x-ratelimit-reset"), nowMs)).toBe(3000);
		expect(responseWaitMs(without("retry-after", "x-ratelimit-reset", "x-ratelimit-reset-requests"), nowMs)).toBe(4000);
		expect(responseWaitMs(new Headers(), nowMs)).toBeNull();
	});

	it("skips a header that is over one day or unreadable and uses the next", () => {
		expect(responseWaitMs(new Headers({ ...all, "retry-after": "172800" }), nowMs)).toBe(2000);
		expect(responseWaitMs(new Headers({ "retry-after": "soon", "x-ratelimit-reset-tokens": "6m5s" }), nowMs)).toBe(
			365_000,
		);
		expect(responseWaitMs(new Headers({ "retry-after": "2d" }), nowMs)).toBeNull();
	});
});

describe("nextQstashAttempt", () => {
	const nowMs = 1_000_000;
	const failed = (over: Partial<QstashFailedAttempt>): QstashFailedAttempt => ({
		attempt: 1,
		retries: 3,
		response: { status: 500, headers: new Headers() },
		expression: null,
		nowMs,
		...over,
	});
	const answer = (status: number, headers: Record<string, string> = {}) => ({
		status,
		headers: new Headers(headers),
	});

	it("retries until `retries` retries were made, then is dead", () => {
		expect(nextQstashAttempt(failed({ attempt: 1 }))).toEqual({ kind: "retry", atMs: nowMs + 12_000, waitMs: 12_000 });
		expect(nextQstashAttempt(failed({ attempt: 3 }))).toEqual({
			kind: "retry",
			atMs: nowMs + 1_808_000,
			waitMs: 1_808_000,
		});
		expect(nextQstashAttempt(failed({ attempt: 4 }))).toEqual({ kind: "dead", reason: "retries_exhausted" });
		expect(nextQstashAttempt(failed({ retries: 0 }))).toEqual({ kind: "dead", reason: "retries_exhausted" });
	});

	it("sends a 489 with Upstash-NonRetryable-Error: true to the DLQ at once, retries left or not", () => {
		const nonRetryable = answer(489, { "upstash-nonretryable-error": "true" });
		expect(nextQstashAttempt(failed({ retries: 99, response: nonRetryable }))).toEqual({
			kind: "dead",
			reason: "non_retryable",
		});
		expect(nextQstashAttempt(failed({ response: answer(489, { "Upstash-NonRetryable-Error": " TRUE " }) })).kind).toBe(
			"dead",
		);
	});

	it("retries a 489 without the header, with it set to false, and another status carrying it", () => {
		for (const response of [
			answer(489),
			answer(489, { "upstash-nonretryable-error": "false" }),
			answer(500, { "upstash-nonretryable-error": "true" }),
			answer(429, { "upstash-nonretryable-error": "true" }),
		]) {
			expect(nextQstashAttempt(failed({ response }))).toEqual({ kind: "retry", atMs: nowMs + 12_000, waitMs: 12_000 });
		}
	});

	it("uses the default backoff after a network error or timeout (no response)", () => {
		expect(nextQstashAttempt(failed({ response: null, attempt: 2 }))).toMatchObject({ kind: "retry", waitMs: 148_000 });
	});

	it("prefers the response's wait over the expression, the expression over the default", () => {
		const expression = parseRetryDelayExpression("1000 * (1 + retried)");
		expect(nextQstashAttempt(failed({ expression, response: answer(429, { "retry-after": "5" }) }))).toEqual({
			kind: "retry",
			atMs: nowMs + 5000,
			waitMs: 5000,
		});
		expect(nextQstashAttempt(failed({ expression, response: answer(503, { "retry-after": "0" }) }))).toEqual({
			kind: "retry",
			atMs: nowMs,
			waitMs: 0,
		});
		// retried = k − 1: 0 before the first retry, 2 before the third.
		expect(nextQstashAttempt(failed({ expression, attempt: 1 }))).toMatchObject({ waitMs: 1000 });
		expect(nextQstashAttempt(failed({ expression, attempt: 3 }))).toMatchObject({ waitMs: 3000 });
		expect(nextQstashAttempt(failed({ expression, response: null, attempt: 2 }))).toMatchObject({ waitMs: 2000 });
	});

	it("ignores a response wait over one day and falls back to the expression, then the default", () => {
		const tooLong = answer(429, { "retry-after": "90000" });
		const expression = parseRetryDelayExpression("2500");
		expect(nextQstashAttempt(failed({ expression, response: tooLong }))).toMatchObject({ waitMs: 2500 });
		expect(nextQstashAttempt(failed({ response: tooLong }))).toMatchObject({ waitMs: 12_000 });
	});

	it("falls back to the default backoff when the expression is undefined (division by zero)", () => {
		const expression = parseRetryDelayExpression("1000 / retried");
		expect(nextQstashAttempt(failed({ expression, attempt: 1 }))).toMatchObject({ waitMs: 12_000 });
		expect(nextQstashAttempt(failed({ expression, attempt: 2 }))).toMatchObject({ waitMs: 1000 });
	});
});

describe("Upstash-Delay", () => {
	it.each([
		[null, 0],
		["50s", 50_000],
		["1d10h30m", 124_200_000],
		["1m30s", 90_000],
		["500ms", 500],
		["1s500ms", 1500],
		["1.5s", 1500],
		["30", 30_000],
		["0", 0],
		[" 10s ", 10_000],
		["365d", 31_536_000_000],
	])("%j → %i ms", (header, ms) => {
		expect(parseUpstashDelayMs(header)).toBe(ms);
	});

	it.each([
		["", /is not a delay/],
		["abc", /is not a delay/],
		["10x", /is not a delay/],
		["-5s", /is not a delay/],
		["1d 2h", /is not a delay/],
		["s", /is not a delay/],
		["10S", /is not a delay/],
		["5us", /is not a delay/],
		["1".repeat(80), /is not a delay/],
		["366d", /over the limit of 365 days/],
		["365d1ms", /over the limit of 365 days/],
	])("rejects %j", (header, message) => {
		expect(headerError(() => parseUpstashDelayMs(header), "Upstash-Delay").message).toMatch(message);
	});
});

describe("Upstash-Timeout", () => {
	it.each([
		[null, 30_000],
		["30s", 30_000],
		["2m", 120_000],
		["1m1s", 61_000],
		["10m", 600_000],
		["45", 45_000],
		["600", 600_000],
		["1500ms", 1500],
	])("%j → %i ms", (header, ms) => {
		expect(parseUpstashTimeoutMs(header)).toBe(ms);
	});

	it.each([
		["1h1m", /over the limit of 10 minutes/],
		["601", /over the limit of 10 minutes/],
		["10m1s", /over the limit of 10 minutes/],
		["1d", /over the limit of 10 minutes/],
		["0", /more than 0/],
		["0s", /more than 0/],
		["", /is not a timeout/],
		["thirty", /is not a timeout/],
		["30 s", /is not a timeout/],
		["-30", /is not a timeout/],
	])("rejects %j", (header, message) => {
		expect(headerError(() => parseUpstashTimeoutMs(header), "Upstash-Timeout").message).toMatch(message);
	});
});
