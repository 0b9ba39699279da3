import { describe, expect, it } from "vitest";
import { type CronSchedule, dueFiring, firingId, nextFiringMs, parseCron } from "../../src/schedule/cron";
import { NAME_PATTERN } from "../../src/validation";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function schedule(cron: string, timezone?: string): CronSchedule {
	const parsed = parseCron(cron, timezone);
	if (!parsed.ok) throw new Error(`${cron}: ${parsed.error.message}`);
	return parsed.schedule;
}

/** The next `count` firings after `fromIso`, as ISO strings (UTC). */
function firings(s: CronSchedule, fromIso: string, count: number): (string | null)[] {
	const out: (string | null)[] = [];
	let fromMs: number | null = at(fromIso);
	for (let i = 0; i < count && fromMs !== null; i++) {
		fromMs = nextFiringMs(s, fromMs);
		out.push(iso(fromMs));
	}
	return out;
}

/** Local wall time, "YYYY-MM-DD HH:mm", as Intl shows it (independent of croner). */
function wall(ms: number | null, timeZone: string): string {
	if (ms === null) return "none";
	return new Intl.DateTimeFormat("sv-SE", { timeZone, dateStyle: "short", timeStyle: "short" }).format(ms);
}

describe("croner in workerd", () => {
	it("these tests run inside workerd", () => {
		expect(navigator.userAgent).toBe("Cloudflare-Workers");
	});
});

describe("parseCron", () => {
	it("defaults to UTC and single-spaces the fields", () => {
		expect(parseCron("  */5   * * * *  ")).toEqual({ ok: true, schedule: { cron: "*/5 * * * *", timezone: "UTC" } });
	});

	it("takes QStash's CRON_TZ= prefix as the zone", () => {
		expect(parseCron("CRON_TZ=America/New_York 0 9 * * *")).toEqual({
			ok: true,
			schedule: { cron: "0 9 * * *", timezone: "America/New_York" },
		});
		expect(parseCron("CRON_TZ=Europe/Berlin 0 9 * * *", "Europe/Berlin").ok).toBe(true);
		expect(parseCron("CRON_TZ=europe/berlin 0 9 * * *", "Europe/Berlin")).toEqual({
			ok: true,
			schedule: { cron: "0 9 * * *", timezone: "Europe/Berlin" },
		});
	});

	it("refuses a CRON_TZ= prefix that disagrees with the timezone argument", () => {
		const parsed = parseCron("CRON_TZ=Europe/Berlin 0 9 * * *", "UTC");
		expect(parsed).toMatchObject({ ok: false, error: { field: "timezone" } });
		if (!parsed.ok) expect(parsed.error.message).toContain("CRON_TZ=Europe/Berlin");
	});

	it.each([
		["4 fields", "* * * *", /5 fields.*got 4/],
		["6 fields (seconds)", "0 * * * * *", /5 fields.*got 6/],
		["7 fields", "0 0 12 * * ? 2027", /5 fields.*got 7/],
		["empty", "", /got 0/],
		["garbage", "every five minutes", /5 fields/],
		["garbage in a field", "x * * * *", /minute "x"/],
		["minute 60", "60 * * * *", /minute "60": 60 is not 0–59/],
		["hour 24", "0 24 * * *", /hour "24": 24 is not 0–23/],
		["day 0", "0 0 0 * *", /day-of-month "0"/],
		["day 32", "0 0 32 * *", /day-of-month "32"/],
		["month 13", "0 0 * 13 *", /month "13"/],
		["weekday 8", "0 0 * * 8", /day-of-week "8"/],
		["unknown name", "0 0 * FOO *", /month "FOO"/],
		["a range out of bounds", "0-60 * * * *", /minute "0-60": 60/],
		["a step of 0", "*/0 * * * *", /step must be at least 1/],
		["a step without * or range", "5/15 * * * *", /step needs \*/],
		["a reversed range", "30-10 * * * *", /30-10/],
		["a nickname", "@daily", /nicknames/],
		["L", "0 0 L * *", /day-of-month "L"/],
		["W", "0 0 15W * *", /day-of-month "15W"/],
		["#", "0 0 * * 5#2", /day-of-week "5#2"/],
		["last weekday", "0 0 * * 5L", /day-of-week "5L"/],
		["?", "0 0 ? * *", /day-of-month "\?"/],
		["a pattern that never fires", "0 0 30 2 *", /never fires/],
	])("refuses %s as a cron error that names the problem", (_, cron, message) => {
		const parsed = parseCron(cron);
		expect(parsed).toMatchObject({ ok: false, error: { field: "cron" } });
		if (!parsed.ok) expect(parsed.error.message).toMatch(message);
	});

	it.each([
		["an unknown zone", "Mars/Olympus_Mons"],
		["a made-up zone", "Not/AZone"],
		["an offset", "+01:00"],
		["an empty zone", ""],
	])("refuses %s as a timezone error", (_, zone) => {
		const parsed = parseCron("0 9 * * *", zone);
		expect(parsed).toMatchObject({ ok: false, error: { field: "timezone" } });
		if (!parsed.ok) expect(parsed.error.message).toContain(`"${zone}"`);
		expect(parseCron(`CRON_TZ=${zone} 0 9 * * *`)).toMatchObject({ ok: false, error: { field: "timezone" } });
	});

	it("accepts month and weekday names, and 7 as Sunday", () => {
		expect(parseCron("0 0 1 jan,Jul *").ok).toBe(true);
		expect(firings(schedule("0 0 * * 7"), "2027-01-05T00:00:00Z", 1)).toEqual(
			firings(schedule("0 0 * * SUN"), "2027-01-05T00:00:00Z", 1),
		);
	});
});

describe("nextFiringMs (UTC)", () => {
	it("is strictly after the given instant, at a whole minute", () => {
		const everyMinute = schedule("* * * * *");
		expect(iso(nextFiringMs(everyMinute, at("2027-01-01T10:00:00Z")))).toBe("2027-01-01T10:01:00.000Z");
		expect(iso(nextFiringMs(everyMinute, at("2027-01-01T10:00:59.999Z")))).toBe("2027-01-01T10:01:00.000Z");
		expect(iso(nextFiringMs(everyMinute, at("2027-01-01T09:59:59.999Z")))).toBe("2027-01-01T10:00:00.000Z");
	});

	it("reads lists, ranges and steps", () => {
		expect(firings(schedule("0,15,45 9-10 * * *"), "2027-01-01T00:00:00Z", 7)).toEqual([
			"2027-01-01T09:00:00.000Z",
			"2027-01-01T09:15:00.000Z",
			"2027-01-01T09:45:00.000Z",
			"2027-01-01T10:00:00.000Z",
			"2027-01-01T10:15:00.000Z",
			"2027-01-01T10:45:00.000Z",
			"2027-01-02T09:00:00.000Z",
		]);
		expect(firings(schedule("10-30/10 */12 * * *"), "2027-01-01T00:00:00Z", 4)).toEqual([
			"2027-01-01T00:10:00.000Z",
			"2027-01-01T00:20:00.000Z",
			"2027-01-01T00:30:00.000Z",
			"2027-01-01T12:10:00.000Z",
		]);
	});

	it("reads day-of-week (Mon–Fri skips the weekend)", () => {
		// 2027-01-08 is a Friday.
		expect(firings(schedule("30 8 * * MON-FRI"), "2027-01-08T09:00:00Z", 2)).toEqual([
			"2027-01-11T08:30:00.000Z",
			"2027-01-12T08:30:00.000Z",
		]);
	});

	it("reads day-of-month and month, and either day field matching when both are restricted", () => {
		expect(firings(schedule("0 12 1,15 * *"), "2027-01-20T00:00:00Z", 3)).toEqual([
			"2027-02-01T12:00:00.000Z",
			"2027-02-15T12:00:00.000Z",
			"2027-03-01T12:00:00.000Z",
		]);
		expect(firings(schedule("0 0 1 JAN,JUL *"), "2027-01-05T00:00:00Z", 2)).toEqual([
			"2027-07-01T00:00:00.000Z",
			"2028-01-01T00:00:00.000Z",
		]);
		expect(firings(schedule("0 0 29 2 *"), "2027-01-01T00:00:00Z", 1)).toEqual(["2028-02-29T00:00:00.000Z"]);
		// The 13th, or any Friday (Vixie cron): 2027-08-06 and 2027-08-13 are Fridays.
		expect(firings(schedule("0 0 13 * 5"), "2027-08-01T00:00:00Z", 3)).toEqual([
			"2027-08-06T00:00:00.000Z",
			"2027-08-13T00:00:00.000Z",
			"2027-08-20T00:00:00.000Z",
		]);
	});
});

describe("nextFiringMs across DST (a missing local time is skipped, a repeated one fires once)", () => {
	const berlin = "Europe/Berlin";
	const newYork = "America/New_York";
	const local = (s: CronSchedule, fromIso: string, count: number) =>
		firings(s, fromIso, count).map((ms) => `${ms} ${wall(ms === null ? null : at(ms), s.timezone)}`);

	it("Berlin spring forward (2027-03-28, 02:00 → 03:00): 02:30 does not exist and is skipped", () => {
		expect(local(schedule("30 2 * * *", berlin), "2027-03-26T12:00:00Z", 3)).toEqual([
			"2027-03-27T01:30:00.000Z 2027-03-27 02:30",
			"2027-03-29T00:30:00.000Z 2027-03-29 02:30",
			"2027-03-30T00:30:00.000Z 2027-03-30 02:30",
		]);
		expect(firings(schedule("0 2 * * *", berlin), "2027-03-27T12:00:00Z", 1)).toEqual(["2027-03-29T00:00:00.000Z"]);
	});

	it("Berlin spring forward: */30 runs on through the gap without a shifted firing", () => {
		expect(local(schedule("*/30 * * * *", berlin), "2027-03-28T00:00:00Z", 3)).toEqual([
			"2027-03-28T00:30:00.000Z 2027-03-28 01:30",
			"2027-03-28T01:00:00.000Z 2027-03-28 03:00",
			"2027-03-28T01:30:00.000Z 2027-03-28 03:30",
		]);
	});

	it("Berlin fall back (2027-10-31, 03:00 → 02:00): 02:30 occurs twice and fires once, at the first", () => {
		expect(local(schedule("30 2 * * *", berlin), "2027-10-30T12:00:00Z", 2)).toEqual([
			"2027-10-31T00:30:00.000Z 2027-10-31 02:30",
			"2027-11-01T01:30:00.000Z 2027-11-01 02:30",
		]);
		// A list is an "interval job" to croner, which would fire on both passes.
		expect(firings(schedule("30 2,14 * * *", berlin), "2027-10-30T13:00:00Z", 2)).toEqual([
			"2027-10-31T00:30:00.000Z",
			"2027-10-31T13:30:00.000Z",
		]);
	});

	it("Berlin fall back: */30 and every-minute jobs do not repeat the repeated hour", () => {
		expect(local(schedule("*/30 * * * *", berlin), "2027-10-30T23:50:00Z", 4)).toEqual([
			"2027-10-31T00:00:00.000Z 2027-10-31 02:00",
			"2027-10-31T00:30:00.000Z 2027-10-31 02:30",
			"2027-10-31T02:00:00.000Z 2027-10-31 03:00",
			"2027-10-31T02:30:00.000Z 2027-10-31 03:30",
		]);
		expect(local(schedule("* * * * *", berlin), "2027-10-31T00:58:00Z", 2)).toEqual([
			"2027-10-31T00:59:00.000Z 2027-10-31 02:59",
			"2027-10-31T02:00:00.000Z 2027-10-31 03:00",
		]);
	});

	it("New York spring forward (2027-03-14) skips 02:30; fall back (2027-11-07) fires 01:xx once", () => {
		expect(local(schedule("30 2 * * *", newYork), "2027-03-13T12:00:00Z", 2)).toEqual([
			"2027-03-15T06:30:00.000Z 2027-03-15 02:30",
			"2027-03-16T06:30:00.000Z 2027-03-16 02:30",
		]);
		expect(local(schedule("*/20 1 * * *", newYork), "2027-11-07T04:00:00Z", 4)).toEqual([
			"2027-11-07T05:00:00.000Z 2027-11-07 01:00",
			"2027-11-07T05:20:00.000Z 2027-11-07 01:20",
			"2027-11-07T05:40:00.000Z 2027-11-07 01:40",
			"2027-11-08T06:00:00.000Z 2027-11-08 01:00",
		]);
	});

	it("CRON_TZ= schedules follow their zone: 09:00 New York is 14:00Z in winter, 13:00Z in summer", () => {
		const nine = schedule("CRON_TZ=America/New_York 0 9 * * *");
		expect(firings(nine, "2027-01-10T00:00:00Z", 1)).toEqual(["2027-01-10T14:00:00.000Z"]);
		expect(firings(nine, "2027-07-10T00:00:00Z", 1)).toEqual(["2027-07-10T13:00:00.000Z"]);
	});
});

describe("dueFiring (a missed firing fires once on recovery, late, never twice)", () => {
	it("after a missed hour publishes only the latest missed firing, then arms the next", () => {
		const every10 = schedule("*/10 * * * *");
		// Last published 10:00; the object was down until 11:05:30 (10:10 … 11:00 missed).
		expect(dueFiring(every10, at("2027-01-01T10:00:00Z"), at("2027-01-01T11:05:30Z"))).toEqual({
			firingMs: at("2027-01-01T11:00:00Z"),
			nextMs: at("2027-01-01T11:10:00Z"),
		});
		// The alarm again, after that firing was published: nothing more until 11:10.
		expect(dueFiring(every10, at("2027-01-01T11:00:00Z"), at("2027-01-01T11:06:00Z"))).toEqual({
			firingMs: null,
			nextMs: at("2027-01-01T11:10:00Z"),
		});
	});

	it("an hourly schedule down over one firing fires it once, late", () => {
		const hourly = schedule("0 * * * *");
		const due = dueFiring(hourly, at("2027-01-01T09:00:00Z"), at("2027-01-01T10:42:00Z"));
		expect(due).toEqual({ firingMs: at("2027-01-01T10:00:00Z"), nextMs: at("2027-01-01T11:00:00Z") });
	});

	it("on time: an alarm at the firing minute fires it; before it, nothing", () => {
		const every10 = schedule("*/10 * * * *");
		expect(dueFiring(every10, at("2027-01-01T10:00:00Z"), at("2027-01-01T10:10:00Z")).firingMs).toBe(
			at("2027-01-01T10:10:00Z"),
		);
		expect(dueFiring(every10, at("2027-01-01T10:00:00Z"), at("2027-01-01T10:09:59.999Z"))).toEqual({
			firingMs: null,
			nextMs: at("2027-01-01T10:10:00Z"),
		});
	});

	it.each([
		["*/30 * * * *", "2027-10-30T22:00:00Z", 8],
		["30 2 * * *", "2027-10-30T22:00:00Z", 8],
		["* 1-3 * * *", "2027-10-30T22:00:00Z", 8],
		["*/30 * * * *", "2027-03-27T22:00:00Z", 8],
		["30 2 * * *", "2027-03-27T22:00:00Z", 28],
		["0 2 * * *", "2027-03-27T22:00:00Z", 28],
	])(
		"%s in Berlin from %s for %i h: the firing found looking back is the one found looking forward, minute by minute",
		(cron, fromIso, hours) => {
			const s = schedule(cron, "Europe/Berlin");
			const startMs = at(fromIso);
			const endMs = startMs + hours * 3_600_000;
			const forward: number[] = [];
			for (let ms = nextFiringMs(s, startMs); ms !== null && ms < endMs; ms = nextFiringMs(s, ms)) {
				forward.push(ms);
			}
			expect(forward.length).toBeGreaterThan(0);
			for (let nowMs = startMs; nowMs < endMs; nowMs += 60_000) {
				const latest = forward.filter((ms) => ms <= nowMs).at(-1) ?? null;
				expect(iso(dueFiring(s, startMs, nowMs).firingMs), `at ${iso(nowMs)}`).toBe(iso(latest));
			}
		},
	);
});

describe("firingId", () => {
	it("is the schedule name and the firing minute in UTC, the same for every alarm in that minute", async () => {
		const id = await firingId("nightly-report", at("2027-03-28T01:30:00Z"));
		expect(id).toBe("nightly-report.2027-03-28T01:30Z");
		expect(await firingId("nightly-report", at("2027-03-28T01:30:59.999Z"))).toBe(id);
		expect(await firingId("nightly-report", at("2027-03-28T01:31:00Z"))).not.toBe(id);
		expect(await firingId("nightly-reports", at("2027-03-28T01:30:00Z"))).not.toBe(id);
	});

	it("keeps to the message-id rule (≤ 128) for every name length, hashing long names", async () => {
		const firing = at("2027-10-31T01:30:00Z");
		for (const length of [1, 108, 109, 110, 127, 128]) {
			const name = `s${"x".repeat(length - 1)}`;
			expect(NAME_PATTERN.test(name)).toBe(true);
			const id = await firingId(name, firing);
			expect(id, `name of ${length}`).toMatch(NAME_PATTERN);
			expect(id.length).toBeLessThanOrEqual(128);
			expect(await firingId(name, firing)).toBe(id);
		}
		expect(await firingId(`s${"x".repeat(108)}`, firing)).toBe(`s${"x".repeat(108)}.2027-10-31T01:30Z`);
	});

	it("tells long names with the same beginning apart", async () => {
		const stem = "a".repeat(120);
		const firing = at("2027-01-01T00:00:00Z");
		const one = await firingId(`${stem}-one`, firing);
		const two = await firingId(`${stem}-two`, firing);
		expect(one).not.toBe(two);
		expect(one.length).toBe(128);
	});

	it("refuses a name outside the name rule", async () => {
		await expect(firingId("bad name", 0)).rejects.toThrow(TypeError);
	});
});
