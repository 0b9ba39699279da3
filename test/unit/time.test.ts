import { describe, expect, it } from "vitest";
import {
	DAY_MS,
	formatInstant,
	HOUR_MS,
	MINUTE_MS,
	parseDurationMs,
	parseInstantMs,
	SECOND_MS,
	TimeParseError,
} from "../../src/time";

describe("unit constants", () => {
	it("are milliseconds", () => {
		expect([SECOND_MS, MINUTE_MS, HOUR_MS, DAY_MS]).toEqual([1_000, 60_000, 3_600_000, 86_400_000]);
	});
});

describe("parseDurationMs", () => {
	it.each([
		[0, 0],
		[30, 30_000],
		[1.5, 1_500],
		[0.0004, 0],
		[0.0006, 1],
		[0.25, 250],
	])("reads the number %s as seconds", (input, expectedMs) => {
		expect(parseDurationMs(input)).toBe(expectedMs);
	});

	it.each([
		["250ms", 250],
		["30s", 30_000],
		["5m", 300_000],
		["2h", 7_200_000],
		["7d", 604_800_000],
		["1.5s", 1_500],
		[".5s", 500],
		["1h30m", 5_400_000],
		["1d2h3m4s5ms", 93_784_005],
		["30", 30_000],
		["1.25", 1_250],
		[" 10s ", 10_000],
		["0s", 0],
		["1.0004s", 1_000],
	])("parses %j", (input, expectedMs) => {
		expect(parseDurationMs(input)).toBe(expectedMs);
	});

	it.each([-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
		"rejects the number %s",
		(input) => {
			expect(() => parseDurationMs(input)).toThrow(TimeParseError);
		},
	);

	it.each([
		"",
		"   ",
		"-5s",
		"-30",
		"5x",
		"5 s",
		"s",
		"1.s",
		"5sec",
		"1e3s",
		"NaN",
		"Infinity",
		"1h 30m",
		"1s1s",
		"5S",
		"0x10",
		"9".repeat(400),
	])("rejects %j", (input) => {
		expect(() => parseDurationMs(input)).toThrow(TimeParseError);
	});

	it("explains what is expected", () => {
		expect(() => parseDurationMs("5 minutes")).toThrow(/"30s"/);
		expect(() => parseDurationMs("")).toThrow(/empty/);
	});

	it("rejects values that are not numbers or strings", () => {
		expect(() => parseDurationMs(null as unknown as string)).toThrow(TimeParseError);
	});
});

describe("parseInstantMs", () => {
	it.each([
		[1796115600, 1_796_115_600_000],
		[1796115600.1239, 1_796_115_600_123],
		[1796115600.123, 1_796_115_600_123],
		[1796115600.999, 1_796_115_600_999],
		[0.001, 1],
		[1.005, 1_005],
		[0, 0],
	])("reads the number %s as unix seconds", (input, expectedMs) => {
		expect(parseInstantMs(input)).toBe(expectedMs);
	});

	it.each([
		["2026-12-01T09:00:00Z", Date.UTC(2026, 11, 1, 9)],
		["2026-12-01t09:00:00z", Date.UTC(2026, 11, 1, 9)],
		["2026-12-01 09:00:00Z", Date.UTC(2026, 11, 1, 9)],
		["2026-12-01T09:00:00.5Z", Date.UTC(2026, 11, 1, 9, 0, 0, 500)],
		["2026-12-01T09:00:00.123Z", Date.UTC(2026, 11, 1, 9, 0, 0, 123)],
		["2026-12-01T09:00:00.123999999Z", Date.UTC(2026, 11, 1, 9, 0, 0, 123)],
		["2026-12-01T10:30:00+01:30", Date.UTC(2026, 11, 1, 9)],
		["2026-12-01T04:00:00-05:00", Date.UTC(2026, 11, 1, 9)],
		["2026-12-01T09:00:00+00:00", Date.UTC(2026, 11, 1, 9)],
		["2026-12-01T09:00:00-00:00", Date.UTC(2026, 11, 1, 9)],
		["2028-02-29T00:00:00Z", Date.UTC(2028, 1, 29)],
		["2026-12-31T23:59:59.999-23:59", Date.UTC(2027, 0, 1, 23, 58, 59, 999)],
		["1970-01-01T00:00:00Z", 0],
		["9999-12-31T23:59:59.999Z", 253_402_300_799_999],
	])("parses %j", (input, expectedMs) => {
		expect(parseInstantMs(input)).toBe(expectedMs);
	});

	it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 1e15])("rejects the number %s", (input) => {
		expect(() => parseInstantMs(input)).toThrow(TimeParseError);
	});

	it.each([
		["", "empty"],
		["2026-12-01T09:00:00", "missing offset"],
		["2026-12-01", "date only"],
		["2026-12-01T09:00Z", "missing seconds"],
		["2026-02-30T00:00:00Z", "no February 30"],
		["2027-02-29T00:00:00Z", "not a leap year"],
		["2026-04-31T00:00:00Z", "April has 30 days"],
		["2026-13-01T00:00:00Z", "month 13"],
		["2026-00-10T00:00:00Z", "month 0"],
		["2026-12-00T00:00:00Z", "day 0"],
		["2026-12-01T24:00:00Z", "hour 24"],
		["2026-12-01T09:60:00Z", "minute 60"],
		["2026-12-31T23:59:60Z", "leap second"],
		["2026-12-01T09:00:00+24:00", "offset hour 24"],
		["2026-12-01T09:00:00+01:60", "offset minute 60"],
		["2026-12-01T09:00:00+0100", "offset without colon"],
		["2026-12-01T09:00:00.Z", "empty fraction"],
		["2026-12-01X09:00:00Z", "bad separator"],
		["26-12-01T09:00:00Z", "two-digit year"],
		["+002026-12-01T09:00:00Z", "expanded year"],
		[" 2026-12-01T09:00:00Z", "leading space"],
		["Tue, 01 Dec 2026 09:00:00 GMT", "HTTP date"],
		["1796115600", "numeric string"],
		["1969-12-31T23:59:59Z", "before 1970"],
		["now", "word"],
	])("rejects %j (%s)", (input) => {
		expect(() => parseInstantMs(input)).toThrow(TimeParseError);
	});

	it("names the problem", () => {
		expect(() => parseInstantMs("2026-02-30T00:00:00Z")).toThrow(/no such date/);
		expect(() => parseInstantMs("2026-12-01T09:00:00")).toThrow(/offset is required/);
	});
});

describe("formatInstant", () => {
	it("formats RFC 3339 UTC with milliseconds", () => {
		expect(formatInstant(Date.UTC(2026, 11, 1, 9))).toBe("2026-12-01T09:00:00.000Z");
		expect(formatInstant(1_796_115_600_123)).toBe("2026-12-01T09:00:00.123Z");
		expect(formatInstant(0)).toBe("1970-01-01T00:00:00.000Z");
	});

	it("round-trips through parseInstantMs", () => {
		const ms = 1_796_115_600_123;
		expect(parseInstantMs(formatInstant(ms))).toBe(ms);
	});
});
