import { describe, expect, it } from "vitest";
import { checkWebhookUrl, parseIpv6 } from "../../src/delivery/url-guard";
import { ACCEPTED_ALWAYS, DEV_ONLY, REFUSED_ALWAYS } from "../ssrf-table";

const prod = { allowHttp: false };
const dev = { allowHttp: true };

describe("checkWebhookUrl", () => {
	it.each(ACCEPTED_ALWAYS)("accepts %s in production and development", (raw) => {
		const prodResult = checkWebhookUrl(raw, prod);
		expect(prodResult).toMatchObject({ ok: true });
		expect(checkWebhookUrl(raw, dev)).toMatchObject({ ok: true });
		if (prodResult.ok) expect(prodResult.url).toBeInstanceOf(URL);
	});

	it.each(DEV_ONLY)("refuses %s in production, accepts it in development", (raw) => {
		const result = checkWebhookUrl(raw, prod);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.reason).toContain("SUNDIAL_ALLOW_HTTP=1");
		expect(checkWebhookUrl(raw, dev)).toMatchObject({ ok: true });
	});

	it.each(REFUSED_ALWAYS)("refuses %s in production and development", (raw) => {
		for (const opts of [prod, dev]) {
			const result = checkWebhookUrl(raw, opts);
			expect(result.ok).toBe(false);
			if (!result.ok) expect(result.reason).toMatch(/^webhook url /);
		}
	});

	it("relies on the URL parser to normalise numeric IPv4 forms", () => {
		expect(new URL("http://2130706433/").hostname).toBe("127.0.0.1");
		expect(new URL("http://0x7f.1/").hostname).toBe("127.0.0.1");
		expect(new URL("http://[::ffff:127.0.0.1]/").hostname).toBe("[::ffff:7f00:1]");
	});

	it("says why, naming the address", () => {
		expect(checkWebhookUrl("http://example.com/", prod)).toEqual({
			ok: false,
			reason: "webhook url must use https (set SUNDIAL_ALLOW_HTTP=1 for local development)",
		});
		expect(checkWebhookUrl("https://10.1.2.3/", dev)).toEqual({
			ok: false,
			reason: "webhook url points at a private address (10.1.2.3)",
		});
		const metadata = checkWebhookUrl("https://169.254.169.254/", dev);
		expect(metadata.ok || metadata.reason).toContain("169.254.169.254");
		const aws = checkWebhookUrl("https://[fd00:ec2::254]/", dev);
		expect(aws.ok || aws.reason).toContain("private address ([fd00:ec2::254])");
		const ftp = checkWebhookUrl("ftp://example.com/", dev);
		expect(ftp.ok || ftp.reason).toContain("ftp:");
		const creds = checkWebhookUrl("https://u:p@example.com/", prod);
		expect(creds.ok || creds.reason).toContain("username or password");
	});

	it("accepts a URL of exactly the maximum length", () => {
		const base = "https://example.com/";
		const raw = base + "a".repeat(2048 - base.length);
		expect(checkWebhookUrl(raw, prod).ok).toBe(true);
		expect(checkWebhookUrl(`${raw}a`, prod).ok).toBe(false);
	});

	it("returns the parsed URL", () => {
		const result = checkWebhookUrl("https://Example.com/a?b=1", prod);
		expect(result.ok && result.url.href).toBe("https://example.com/a?b=1");
	});
});

describe("parseIpv6", () => {
	it.each([
		["::", [0, 0, 0, 0, 0, 0, 0, 0]],
		["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
		["fe80::", [0xfe80, 0, 0, 0, 0, 0, 0, 0]],
		["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
		["1::8", [1, 0, 0, 0, 0, 0, 0, 8]],
		["::ffff:7f00:1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
		["::ffff:127.0.0.1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
		["fd00:ec2::254", [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]],
		["1:2:3:4:5:6::8", [1, 2, 3, 4, 5, 6, 0, 8]],
	])("parses %s", (text, groups) => {
		expect(parseIpv6(text)).toEqual(groups);
	});

	it.each([
		"",
		":::",
		"1::2::3",
		"1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:8:9",
		"1:2:3:4::5:6:7:8",
		"12345::",
		"g::1",
		"::1.2.3",
	])("rejects %j", (text) => {
		expect(parseIpv6(text)).toBeUndefined();
	});
});
