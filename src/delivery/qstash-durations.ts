/**
 * Duration headers of `/v2` publish (QSTASH.md "Request headers", "Limits"): `Upstash-Delay` and
 * `Upstash-Timeout`, plus the unit-group reader they share with response-header waits.
 */
import { QstashHeaderError } from "./qstash-header-error";

/** Milliseconds per unit, for every unit any QStash duration may use. */
const UNIT_MS: Record<string, number> = {
	d: 86_400_000,
	h: 3_600_000,
	m: 60_000,
	s: 1000,
	ms: 1,
	us: 0.001,
	µs: 0.001,
	ns: 0.000_001,
};

/** Longest duration text read at all; anything longer is malformed, not a huge number to parse. */
const MAX_DURATION_CHARS = 64;

/** The furthest `Upstash-Delay` may reach. @default 365 days */
export const QSTASH_MAX_DELAY_MS = 365 * 86_400_000;
/** `Upstash-Timeout` when the header is absent. */
export const QSTASH_DEFAULT_TIMEOUT_MS = 30_000;
/** The longest `Upstash-Timeout` (the alarm's wall limit is 15 min). */
export const QSTASH_MAX_TIMEOUT_MS = 600_000;

const DELAY_UNITS = ["d", "h", "m", "s", "ms"] as const;

/**
 * Reads one or more `<n><unit>` groups (`1d10h30m`, `1.5s`, `500ms`) with only the given units,
 * in any order, into milliseconds (rounded to the nearest ms). Null when the text is anything else.
 */
export function parseUnitGroupsMs(text: string, units: readonly string[]): number | null {
	if (text.length === 0 || text.length > MAX_DURATION_CHARS) return null;
	const group = /(\d+(?:\.\d+)?)(ms|us|µs|ns|[dhms])/y;
	let totalMs = 0;
	let at = 0;
	while (at < text.length) {
		group.lastIndex = at;
		const match = group.exec(text);
		const unit = match?.[2];
		if (!match || unit === undefined || !units.includes(unit)) return null;
		totalMs += Number(match[1]) * (UNIT_MS[unit] ?? Number.NaN);
		at = group.lastIndex;
	}
	return Number.isFinite(totalMs) ? Math.round(totalMs) : null;
}

/** The header as given, quoted and cut short, for an error message. */
function quoted(header: string): string {
	return JSON.stringify(header.length > MAX_DURATION_CHARS ? `${header.slice(0, MAX_DURATION_CHARS)}…` : header);
}

/** Unit groups with units d, h, m, s, ms, or a bare number of seconds; null when neither. */
function parseSecondsOrGroupsMs(text: string): number | null {
	if (/^\d+(?:\.\d+)?$/.test(text) && text.length <= MAX_DURATION_CHARS) return Math.round(Number(text) * 1000);
	return parseUnitGroupsMs(text, DELAY_UNITS);
}

/**
 * `Upstash-Delay`: `50s`, `1d10h30m`, `500ms`, or a bare number of seconds; ≤ 365 days.
 * Absent (null) is no delay. Throws QstashHeaderError (400) otherwise.
 */
export function parseUpstashDelayMs(header: string | null): number {
	if (header === null) return 0;
	const delayMs = parseSecondsOrGroupsMs(header.trim());
	if (delayMs === null) {
		throw new QstashHeaderError(
			"Upstash-Delay",
			`${quoted(header)} is not a delay: use <n><unit> groups with units d, h, m, s, ms (e.g. 50s, 1d10h30m) or a number of seconds`,
		);
	}
	if (delayMs > QSTASH_MAX_DELAY_MS) throw new QstashHeaderError("Upstash-Delay", "is over the limit of 365 days");
	return delayMs;
}

/**
 * `Upstash-Timeout`: `30s`, `2m`, `1h1m`, or a bare number of seconds; more than 0, ≤ 10 min.
 * Absent (null) is the default 30 s. Throws QstashHeaderError (400) otherwise.
 */
export function parseUpstashTimeoutMs(header: string | null): number {
	if (header === null) return QSTASH_DEFAULT_TIMEOUT_MS;
	const timeoutMs = parseSecondsOrGroupsMs(header.trim());
	if (timeoutMs === null) {
		throw new QstashHeaderError(
			"Upstash-Timeout",
			`${quoted(header)} is not a timeout: use <n><unit> groups with units h, m, s, ms (e.g. 30s, 1h1m) or a number of seconds`,
		);
	}
	if (timeoutMs <= 0) throw new QstashHeaderError("Upstash-Timeout", "must be more than 0");
	if (timeoutMs > QSTASH_MAX_TIMEOUT_MS)
		throw new QstashHeaderError("Upstash-Timeout", "is over the limit of 10 minutes");
	return timeoutMs;
}
