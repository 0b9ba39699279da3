/**
 * The schedule engine (DESIGN.md "Schedules (cron)", QSTASH.md "Schedules"): validates a 5-field
 * cron in an IANA zone and says when it fires. Pure: no storage, no clock; times are epoch ms.
 * croner does the pattern matching and the zone conversion; this module adds the validation and
 * the DST rule croner does not follow (see `isFiring`).
 */
import { Cron, CronDate } from "croner";
import { MINUTE_MS } from "../time";
import { NAME_PATTERN } from "../validation";

/** A validated schedule, plain data: re-created cheaply from what is stored. */
export interface CronSchedule {
	/** The five fields, single-spaced, without a `CRON_TZ=` prefix. */
	cron: string;
	/** An IANA zone as `Intl` spells it. @default "UTC" */
	timezone: string;
}

/** Why an expression or zone was refused; `field` is the request field to name in the 400. */
export interface CronError {
	field: "cron" | "timezone";
	message: string;
}

/** The result of `parseCron`: a schedule or the reason there is none. */
export type CronParseResult = { ok: true; schedule: CronSchedule } | { ok: false; error: CronError };

/** What a woken alarm does: publish `firingMs` (if not null), then arm for `nextMs`. */
export interface DueFiring {
	/** The latest firing in (sinceMs, nowMs], published once however many were missed; null if none. */
	firingMs: number | null;
	/** The first firing strictly after nowMs; null only if the pattern never fires again. */
	nextMs: number | null;
}

interface FieldSpec {
	name: string;
	min: number;
	max: number;
	names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
	{ name: "minute", min: 0, max: 59 },
	{ name: "hour", min: 0, max: 23 },
	{ name: "day-of-month", min: 1, max: 31 },
	{ name: "month", min: 1, max: 12, names: "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(" ") },
	{ name: "day-of-week", min: 0, max: 7, names: "SUN MON TUE WED THU FRI SAT".split(" ") },
];
const FIELD_LIST = "minute hour day-of-month month day-of-week";
/** `*`, a value or a range, then an optional step; a value is a number or a 3-letter name. */
const ITEM = /^(?:(\*)|([0-9]+|[A-Za-z]{3})(?:-([0-9]+|[A-Za-z]{3}))?)(?:\/([0-9]+))?$/;
const CRON_TZ = /^CRON_TZ=(\S*)\s+(.*)$/s;
/** Any instant works: a pattern either matches some day of a 400-year cycle or never does. */
const NEVER_PROBE = new Date(Date.UTC(2000, 0, 1));
/** Refused candidates in a row (a repeated hour refuses up to 60) before giving up rather than looping. */
const MAX_REFUSED = 1_500;
/** `.` + `2027-03-28T01:30Z`. */
const FIRING_SUFFIX_CHARS = 18;
/** Longer names are hashed; hashed ids are exactly 128 chars, so they never equal a verbatim one. */
const VERBATIM_NAME_MAX_CHARS = 109;
const HASHED_PREFIX_CHARS = 128 - 1 - 32 - FIRING_SUFFIX_CHARS;

/**
 * Validates a 5-field cron (`*`, lists, ranges, `/` steps, month and weekday names; 0 and 7 are
 * Sunday; day-of-month and day-of-week both restricted = either matches, as in Vixie cron) and a
 * zone given as `timezone` or as QStash's `CRON_TZ=<zone> ` prefix (both given: they must agree).
 * Refused: 6-field (seconds) and 7-field forms, `@daily`-style nicknames, `L`, `W`, `#`, `?`, and
 * patterns that never fire (`0 0 30 2 *`).
 */
export function parseCron(expression: string, timezone?: string): CronParseResult {
	const prefixed = CRON_TZ.exec(expression.trim());
	const text = prefixed ? (prefixed[2] ?? "").trim() : expression.trim();
	const zones = [prefixed?.[1], timezone].filter((zone) => zone !== undefined);
	const resolved = zones.map(resolveZone);
	const badZone = zones.find((_, index) => resolved[index] === null);
	if (badZone !== undefined) {
		return fail("timezone", `"${badZone}" is not an IANA time zone (like "Europe/Berlin" or "UTC")`);
	}
	if (resolved.length === 2 && resolved[0] !== resolved[1]) {
		return fail("timezone", `"${timezone}" differs from the cron's CRON_TZ=${prefixed?.[1]}; give the zone once`);
	}
	const resolvedZone = resolved[0] ?? "UTC";
	if (text.startsWith("@")) {
		return fail("cron", `nicknames like "${text}" are not supported; write the 5 fields (${FIELD_LIST})`);
	}
	const fields = text.split(/\s+/);
	if (fields.length !== 5) {
		return fail("cron", `must have 5 fields (${FIELD_LIST}), got ${text === "" ? 0 : fields.length}`);
	}
	for (const [index, field] of fields.entries()) {
		const problem = fieldProblem(field, FIELDS[index] as FieldSpec);
		if (problem) return fail("cron", problem);
	}
	const schedule = { cron: fields.join(" "), timezone: resolvedZone };
	let job: Cron;
	try {
		job = cronOf(schedule);
	} catch (error) {
		const detail = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, "") : String(error);
		return fail("cron", `"${schedule.cron}" is not a valid cron: ${detail}`);
	}
	if (job.nextRun(NEVER_PROBE) === null) return fail("cron", `"${schedule.cron}" never fires`);
	return { ok: true, schedule };
}

/**
 * The first firing strictly after `afterMs`, at a whole minute, or null if there is none. DST
 * rule: a local time that does not exist (spring forward) is skipped; one that occurs twice
 * (fall back) fires once, at its first occurrence.
 */
export function nextFiringMs(schedule: CronSchedule, afterMs: number): number | null {
	return seekFiringMs(schedule, afterMs, "next");
}

/**
 * What an alarm woken at `nowMs` publishes, when the last firing published (or the schedule's
 * creation or resume) was at `sinceMs`. However many firings were missed (the object was down),
 * only the latest of them is published: once, late, never twice.
 */
export function dueFiring(schedule: CronSchedule, sinceMs: number, nowMs: number): DueFiring {
	const latest = seekFiringMs(schedule, nowMs, "previous");
	const firingMs = latest !== null && latest > sinceMs ? latest : null;
	return { firingMs, nextMs: nextFiringMs(schedule, nowMs) };
}

/**
 * The message id of a firing: the schedule name and the firing minute in UTC
 * (`nightly.2027-03-28T01:30Z`), so a repeated alarm publishes a duplicate, not a second message.
 * Names over 109 characters are shortened to a prefix and a SHA-256 hash, keeping the id ≤ 128
 * characters and within the message-id rule.
 */
export async function firingId(scheduleName: string, firingMs: number): Promise<string> {
	if (!NAME_PATTERN.test(scheduleName)) throw new TypeError(`invalid schedule name "${scheduleName}"`);
	const minute = new Date(Math.floor(firingMs / MINUTE_MS) * MINUTE_MS).toISOString().slice(0, 16);
	const suffix = `.${minute}Z`;
	if (scheduleName.length <= VERBATIM_NAME_MAX_CHARS) return scheduleName + suffix;
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scheduleName));
	const hex = Array.from(new Uint8Array(digest).subarray(0, 16), (byte) => byte.toString(16).padStart(2, "0")).join("");
	return `${scheduleName.slice(0, HASHED_PREFIX_CHARS)}.${hex}${suffix}`;
}

/** The first firing strictly after `fromMs` ("next") or the last at or before it ("previous"). */
function seekFiringMs(schedule: CronSchedule, fromMs: number, direction: "next" | "previous"): number | null {
	const job = cronOf(schedule);
	// previousRuns includes a run earlier in the reference's second, not one exactly at it.
	let from = new Date(direction === "next" ? fromMs : fromMs + 1);
	for (let refused = 0; refused < MAX_REFUSED; refused++) {
		const candidate = direction === "next" ? job.nextRun(from) : job.previousRuns(1, from)[0];
		if (!candidate) return null;
		if (isFiring(job, schedule.timezone, candidate.getTime())) return candidate.getTime();
		from = candidate;
	}
	return null;
}

/** No callback: with one, croner schedules itself with setTimeout. */
function cronOf(schedule: CronSchedule): Cron {
	return new Cron(schedule.cron, { timezone: schedule.timezone, mode: "5-part" });
}

/**
 * croner follows Vixie cron across DST: a single-time job in a gap runs just after it, and a job
 * with `*`, steps, lists or ranges runs on both passes through a repeated hour. Our rule (the one
 * OCPS 1.4 §4.3.1 recommends) refuses both: the local time must match the pattern and must not
 * have occurred already.
 */
function isFiring(job: Cron, zone: string, atMs: number): boolean {
	return job.match(new Date(atMs)) && !isSecondOccurrence(zone, atMs);
}

/** Whether the local time at `atMs` was already shown earlier, under the offset in force a day before. */
function isSecondOccurrence(zone: string, atMs: number): boolean {
	const wallMs = localWallMs(zone, atMs);
	const offsetMs = wallMs - atMs;
	const dayBeforeMs = atMs - 24 * 60 * MINUTE_MS;
	const earlierOffsetMs = localWallMs(zone, dayBeforeMs) - dayBeforeMs;
	if (earlierOffsetMs <= offsetMs) return false;
	return localWallMs(zone, wallMs - earlierOffsetMs) === wallMs;
}

/** The local date and time at `atMs` in `zone`, to the minute, read as if it were UTC. */
function localWallMs(zone: string, atMs: number): number {
	const local = new CronDate(new Date(atMs), zone);
	return Date.UTC(local.year, local.month, local.day, local.hour, local.minute);
}

/** The zone as Intl spells it, or null when Intl does not know it or it is an offset like +01:00. */
function resolveZone(zone: string): string | null {
	if (!/^[A-Za-z]/.test(zone)) return null;
	try {
		return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
	} catch {
		return null;
	}
}

/** A message naming what is wrong with one field, or null when it reads as cron. */
function fieldProblem(field: string, spec: FieldSpec): string | null {
	const range = spec.names ? `${spec.min}–${spec.max} or a name` : `${spec.min}–${spec.max}`;
	for (const item of field.split(",")) {
		const match = ITEM.exec(item);
		if (!match) return `${spec.name} "${field}": "${item}" is not *, a value (${range}), a range or a step`;
		const [, star, from, to, step] = match;
		for (const value of [from, to]) {
			if (value === undefined) continue;
			const known = /^[0-9]/.test(value)
				? Number(value) >= spec.min && Number(value) <= spec.max
				: spec.names?.includes(value.toUpperCase());
			if (!known) return `${spec.name} "${field}": ${value} is not ${range}`;
		}
		if (step !== undefined && Number(step) < 1) return `${spec.name} "${field}": a step must be at least 1`;
		if (step !== undefined && !star && to === undefined) {
			return `${spec.name} "${field}": a step needs * or a range before it (like */15 or 5-59/15)`;
		}
	}
	return null;
}

function fail(field: CronError["field"], message: string): CronParseResult {
	return { ok: false, error: { field, message } };
}
