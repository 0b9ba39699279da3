import { describe, expect, it } from "vitest";
import { checkWebhookUrl, parseIpv6 } from "../../src/delivery/url-guard";

const prod = { allowHttp: false };
const dev = { allowHttp: true };

/** Accepted in production and in development. */
const ACCEPTED_ALWAYS = [
	"https://example.com/hooks/orders",
	"https://example.com:8443/hooks?x=1#frag",
	"https://EXAMPLE.com./path",
	"https://sub.domain.example.co.uk/",
	"https://8.8.8.8/",
	"https://1.1.1.1:443/x",
	"https://172.32.0.1/",
	"https://100.128.0.1/",
	"https://192.169.0.1/",
	"https://223.255.255.255/",
	"https://[2606:4700:4700::1111]/",
	"https://[2001:4860:4860:0:0:0:0:8888]/",
	"https://[::ffff:8.8.8.8]/",
	"https://[64:ff9b::808:808]/",
	"https://localhost.example.com/",
	"https://mylocal/",
	"https://internal.example.com/",
	"https://xn--bcher-kva.example/",
];

/** Refused in production, accepted in development (http, loopback). */
const DEV_ONLY = [
	"http://example.com/hooks",
	"http://8.8.8.8/",
	"http://localhost:8787/hook",
	"https://localhost/",
	"http://LOCALHOST./",
	"http://api.localhost/",
	"http://127.0.0.1:9000/",
	"http://127.1/",
	"http://2130706433/",
	"http://0x7f.1/",
	"http://0177.0.0.1/",
	"http://127.255.255.254/",
	"http://[::1]:9000/",
	"http://[0:0:0:0:0:0:0:1]/",
	"http://[::ffff:127.0.0.1]/",
];

/** Refused whatever the setting. */
const REFUSED_ALWAYS = [
	"not a url",
	"/relative/path",
	"example.com/hook",
	"ftp://example.com/",
	"ws://example.com/",
	"javascript:alert(1)",
	"file:///etc/passwd",
	"data:text/plain,hi",
	"https://user:pass@example.com/",
	"https://user@example.com/",
	"https://:secret@example.com/",
	`https://example.com/${"a".repeat(2048)}`,
	"https://localhost.localdomain/",
	"https://printer.local/",
	"https://db.internal/",
	"https://metadata.google.internal/computeMetadata/v1/",
	"https://metadata/",
	"https://instance-data/latest/meta-data/",
	"https://router.home.arpa/",
	"https://0.0.0.0/",
	"https://0/",
	"https://10.1.2.3/",
	"https://10.255.255.255/",
	"https://100.64.0.1/",
	"https://100.127.255.255/",
	"https://169.254.169.254/latest/meta-data/",
	"https://169.254.1.1/",
	"https://172.16.0.1/",
	"https://172.31.255.255/",
	"https://192.0.0.8/",
	"https://192.0.2.10/",
	"https://192.168.1.1/",
	"https://198.18.0.1/",
	"https://198.19.255.255/",
	"https://198.51.100.7/",
	"https://203.0.113.9/",
	"https://224.0.0.1/",
	"https://239.255.255.250/",
	"https://240.0.0.1/",
	"https://255.255.255.255/",
	"https://0xa9fea9fe/",
	"https://3232235777/",
	"https://012.0.0.1/",
	"https://[::]/",
	"https://[fc00::1]/",
	"https://[fd12:3456:789a::1]/",
	"https://[fd00:ec2::254]/",
	"https://[fe80::1]/",
	"https://[febf:ffff::1]/",
	"https://[ff02::1]/",
	"https://[::ffff:10.0.0.1]/",
	"https://[::ffff:169.254.169.254]/",
	"https://[::ffff:a9fe:a9fe]/",
	"https://[64:ff9b::a00:1]/",
	"https://[64:ff9b::127.0.0.1]/",
	"https://[2001:db8::1]/",
	"https://[2002:c0a8:101::1]/",
	"https://[::127.0.0.1]/",
	"https://[100::1]/",
];

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
