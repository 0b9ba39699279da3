/**
 * When a `/v2` delivery is tried again (QSTASH.md "Retries"): the response's own wait, else the
 * message's `Upstash-Retry-Delay`, else QStash's default backoff; 489 + NonRetryable is final.
 */
import { parseUnitGroupsMs } from "./qstash-durations";
import { evaluateRetryDelayMs, type RetryDelayExpression } from "./qstash-retry-expression";

/** The longest wait a response header may ask for; a longer one is ignored. */
export const MAX_RESPONSE_WAIT_MS = 86_400_000;
/** `Upstash-Retries` when the header is absent. */
export const QSTASH_DEFAULT_RETRIES = 3;

/** Response headers that name a wait, checked in this order. */
export const RESPONSE_WAIT_HEADERS = [
	"Retry-After",
	"X-RateLimit-Reset",
	"X-RateLimit-Reset-Requests",
	"X-RateLimit-Reset-Tokens",
] as const;

const GO_DURATION_UNITS = ["h", "m", "s", "ms", "us", "µs", "ns"] as const;
const WEEKDAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
/** The three forms of HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, RFC 850, asctime. */
const HTTP_DATE = new RegExp(
	`^(?:${WEEKDAY}, \\d{2} ${MONTH} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT` +
		`|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \\d{2}-${MONTH}-\\d{2} \\d{2}:\\d{2}:\\d{2} GMT` +
		`|${WEEKDAY} ${MONTH} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} \\d{4})$`,
);

/**
 * QStash's default wait after failed attempt `attempt` (1-based): min(86400, e^(2.5·k)) seconds,
 * truncated to whole seconds → 12 s, 2 min 28 s, 30 min 8 s, 6 h 7 min 6 s, then 24 h.
 */
export function qstashDefaultBackoffMs(attempt: number): number {
	const k = Math.max(1, attempt);
	return Math.floor(Math.min(86_400, Math.exp(2.5 * k))) * 1000;
}

/**
 * One wait header's value as ms from now: seconds (`30`, `1.5`), an HTTP date (past → 0) or a Go
 * duration (`6m5s`, `500ms`). Null when unreadable, negative or over one day.
 */
export function parseResponseWaitMs(value: string, nowMs: number): number | null {
	const text = value.trim();
	let waitMs: number | null;
	if (/^\d+(?:\.\d+)?$/.test(text)) waitMs = Math.ceil(Number(text) * 1000);
	// asctime carries no zone; HTTP dates are always GMT, so say so rather than read local time.
	else if (HTTP_DATE.test(text)) waitMs = Math.max(0, Date.parse(text.endsWith("GMT") ? text : `${text} GMT`) - nowMs);
	else waitMs = parseUnitGroupsMs(text, GO_DURATION_UNITS);
	if (waitMs === null || Number.isNaN(waitMs) || waitMs > MAX_RESPONSE_WAIT_MS) return null;
	return waitMs;
}

/** The first usable wait among RESPONSE_WAIT_HEADERS, in their order; null when none is. */
export function responseWaitMs(headers: Headers, nowMs: number): number | null {
	for (const name of RESPONSE_WAIT_HEADERS) {
		const value = headers.get(name);
		const waitMs = value === null ? null : parseResponseWaitMs(value, nowMs);
		if (waitMs !== null) return waitMs;
	}
	return null;
}

/** A 489 carrying `Upstash-NonRetryable-Error: true`: the destination asks never to retry. */
export function isNonRetryable(status: number, headers: Headers): boolean {
	return status === 489 && headers.get("Upstash-NonRetryable-Error")?.trim().toLowerCase() === "true";
}

/** A failed attempt, as nextQstashAttempt needs it. */
export interface QstashFailedAttempt {
	/** Which attempt failed, 1-based (k = 1 for the first). */
	attempt: number;
	/** Retries allowed after the first attempt (`Upstash-Retries`, 0–99), so attempts = retries + 1. */
	retries: number;
	/** The non-2xx answer; null for a network error, a timeout or no answer. */
	response: { status: number; headers: Headers } | null;
	/** The parsed `Upstash-Retry-Delay`, or null for the default backoff. */
	expression: RetryDelayExpression | null;
	/** When the attempt ended; the next one is due from here. */
	nowMs: number;
}

/** What follows a failed attempt. */
export type QstashNextStep =
	| { kind: "retry"; atMs: number; waitMs: number }
	| { kind: "dead"; reason: "retries_exhausted" | "non_retryable" };

/**
 * The step after a failed attempt: dead on 489 + NonRetryable or when no retry remains; else a
 * retry after the response's wait, else the expression (retried = k − 1), else the default backoff.
 */
export function nextQstashAttempt(failed: QstashFailedAttempt): QstashNextStep {
	const { attempt, response, nowMs } = failed;
	if (response && isNonRetryable(response.status, response.headers)) return { kind: "dead", reason: "non_retryable" };
	if (attempt > failed.retries) return { kind: "dead", reason: "retries_exhausted" };
	const waitMs =
		(response ? responseWaitMs(response.headers, nowMs) : null) ??
		(failed.expression ? evaluateRetryDelayMs(failed.expression, attempt - 1) : null) ??
		qstashDefaultBackoffMs(attempt);
	return { kind: "retry", atMs: nowMs + waitMs, waitMs };
}
