/** Units a duration string may use. */
export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

/**
 * A duration as the API reads it: a number of seconds (may be fractional), or a string like
 * `"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"7d"` or `"1h30m"`.
 */
export type Duration =
	| number
	| `${number}${DurationUnit}`
	| `${number}${DurationUnit}${number}${DurationUnit}`
	| `${number}${DurationUnit}${number}${DurationUnit}${number}${DurationUnit}`;

/**
 * An instant: a `Date`, an RFC 3339 string (any offset), or a number of **unix seconds** (as the
 * HTTP API reads it; `Date.now()` is milliseconds, so pass `new Date(ms)` for those).
 */
export type Instant = Date | string | number;

/** What an {@link Instant} is on the wire: RFC 3339 for a `Date`, the value itself otherwise. */
export function wireInstant(value: Instant): string | number {
	if (!(value instanceof Date)) return value;
	if (Number.isNaN(value.getTime())) throw new TypeError("an invalid Date is not an instant");
	return value.toISOString();
}

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y;

/** A {@link Duration} in milliseconds, read as the API reads it; throws a TypeError when it is not one. */
export function parseDurationMs(value: Duration): number {
	if (typeof value === "number") {
		if (!Number.isFinite(value) || value < 0) throw new TypeError(`a duration must be ≥ 0 seconds, got ${value}`);
		return value * 1000;
	}
	const text = value.trim();
	if (/^(\d+(\.\d+)?|\.\d+)$/.test(text)) return Number(text) * 1000;
	let totalMs = 0;
	let offset = 0;
	while (offset < text.length) {
		DURATION_PART.lastIndex = offset;
		const match = DURATION_PART.exec(text);
		if (!match) throw new TypeError(`invalid duration ${JSON.stringify(value)}`);
		totalMs += Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
		offset = DURATION_PART.lastIndex;
	}
	if (text === "") throw new TypeError("a duration may not be empty");
	return totalMs;
}
