/** One second in milliseconds. */
export const SECOND_MS = 1_000;
/** One minute in milliseconds. */
export const MINUTE_MS = 60 * SECOND_MS;
/** One hour in milliseconds. */
export const HOUR_MS = 60 * MINUTE_MS;
/** One day in milliseconds. */
export const DAY_MS = 24 * HOUR_MS;

/** Latest instant accepted: 9999-12-31T23:59:59.999Z, the end of RFC 3339's four-digit years. */
export const MAX_INSTANT_MS = 253_402_300_799_999;

/** Thrown for a duration or instant that cannot be parsed; the message says what was expected. */
export class TimeParseError extends Error {
	override name = "TimeParseError";
}

const UNIT_MS: Record<string, number> = {
	ms: 1,
	s: SECOND_MS,
	m: MINUTE_MS,
	h: HOUR_MS,
	d: DAY_MS,
};

const DURATION_FORMS = 'a number of seconds or a string like "250ms", "30s", "5m", "2h", "7d" or "1h30m"';
const BARE_SECONDS = /^(?:\d+(?:\.\d+)?|\.\d+)$/;
const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y;

/** Parses a duration (number = seconds, or "250ms"/"30s"/"5m"/"2h"/"7d"/"1h30m") into whole milliseconds. */
export function parseDurationMs(input: number | string): number {
	if (typeof input === "number") {
		if (!Number.isFinite(input) || input < 0) {
			throw new TimeParseError(`duration must be a finite number of seconds >= 0, got ${input}`);
		}
		return checkedMs(Math.round(input * SECOND_MS) + 0, input);
	}
	if (typeof input !== "string") {
		throw new TimeParseError(`duration must be ${DURATION_FORMS}`);
	}
	const text = input.trim();
	if (text === "") {
		throw new TimeParseError(`duration is empty; expected ${DURATION_FORMS}`);
	}
	if (BARE_SECONDS.test(text)) {
		return checkedMs(Math.round(Number(text) * SECOND_MS), input);
	}
	let totalMs = 0;
	let offset = 0;
	const seenUnits = new Set<string>();
	while (offset < text.length) {
		DURATION_PART.lastIndex = offset;
		const match = DURATION_PART.exec(text);
		const [, amount, unit] = match ?? [];
		if (match === null || amount === undefined || unit === undefined) {
			throw new TimeParseError(`invalid duration ${JSON.stringify(input)}; expected ${DURATION_FORMS}`);
		}
		if (seenUnits.has(unit)) {
			throw new TimeParseError(`invalid duration ${JSON.stringify(input)}: unit "${unit}" appears twice`);
		}
		seenUnits.add(unit);
		totalMs += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
		offset = DURATION_PART.lastIndex;
	}
	return checkedMs(Math.round(totalMs), input);
}

function checkedMs(ms: number, input: number | string): number {
	if (!Number.isSafeInteger(ms)) {
		throw new TimeParseError(`duration ${JSON.stringify(input)} is too large`);
	}
	return ms;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const INSTANT_FORMS = 'unix seconds or an RFC 3339 timestamp like "2026-12-01T09:00:00Z"';

/** Parses an instant (number = unix seconds, or a strict RFC 3339 string with offset) into unix milliseconds. */
export function parseInstantMs(input: number | string): number {
	if (typeof input === "number") {
		if (!Number.isFinite(input)) {
			throw new TimeParseError(`instant must be a finite number of unix seconds, got ${input}`);
		}
		return checkedInstant(floorSecondsToMs(input), input);
	}
	if (typeof input !== "string") {
		throw new TimeParseError(`instant must be ${INSTANT_FORMS}`);
	}
	const match = RFC3339.exec(input);
	if (match === null) {
		throw new TimeParseError(
			`invalid instant ${JSON.stringify(input)}; expected ${INSTANT_FORMS} (the offset is required)`,
		);
	}
	const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
		number,
		number,
		number,
		number,
		number,
		number,
	];
	const fraction = match[7] ?? "";
	const sign = match[9];
	const offsetHours = Number(match[10] ?? 0);
	const offsetMinutes = Number(match[11] ?? 0);
	const millis = Number(fraction.slice(0, 3).padEnd(3, "0"));
	const invalid = (what: string): TimeParseError =>
		new TimeParseError(`invalid instant ${JSON.stringify(input)}: ${what}`);
	if (hour > 23) throw invalid("hour must be 00-23");
	if (minute > 59) throw invalid("minute must be 00-59");
	if (second > 59) throw invalid("second must be 00-59 (leap seconds are not supported)");
	if (offsetHours > 23 || offsetMinutes > 59) throw invalid("offset out of range");
	// Date.UTC maps years 0-99 to 1900-1999, so set the full year explicitly.
	const date = new Date(0);
	date.setUTCFullYear(year, month - 1, day);
	date.setUTCHours(hour, minute, second, millis);
	if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
		throw invalid("no such date");
	}
	const offsetMs = (offsetHours * HOUR_MS + offsetMinutes * MINUTE_MS) * (sign === "-" ? -1 : 1);
	return checkedInstant(date.getTime() - offsetMs, input);
}

/** Unix seconds to integer ms, floored, robust to binary rounding (1.123 stays 1123, not 1122). */
function floorSecondsToMs(seconds: number): number {
	const ms = Math.floor(seconds * SECOND_MS);
	return (ms + 1) / SECOND_MS <= seconds ? ms + 1 : ms;
}

function checkedInstant(ms: number, input: number | string): number {
	if (ms < 0 || ms > MAX_INSTANT_MS) {
		throw new TimeParseError(
			`instant ${JSON.stringify(input)} is outside 1970-01-01T00:00:00Z..9999-12-31T23:59:59.999Z`,
		);
	}
	return ms;
}

/** Formats unix milliseconds as RFC 3339 UTC with milliseconds, e.g. "2026-12-01T09:00:00.000Z". */
export function formatInstant(ms: number): string {
	return new Date(ms).toISOString();
}
