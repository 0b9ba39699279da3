import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors";
import { readDestination, readPublish } from "../../src/http/v2/publish-request";

const NOW = Date.UTC(2026, 11, 1, 9, 0, 0);

function read(raw: string, headers: Record<string, string> = {}) {
	const { destination, queryHeaders } = readDestination(raw);
	return readPublish(destination, new Headers(headers), queryHeaders, NOW);
}

function refusal(fn: () => unknown): { status: number; message: string } {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(AppError);
		return { status: (error as AppError).status, message: (error as AppError).message };
	}
	throw new Error("did not throw");
}

describe("the /v2 publish destination", () => {
	it("is a URL (query kept, upstash-<x> parameters taken out as headers) or a URL group name", () => {
		expect(readDestination("https://a.example/h?x=1&upstash-delay=10s&y=2")).toMatchObject({
			destination: { kind: "url", url: "https://a.example/h?x=1&y=2" },
		});
		expect(readDestination("https://a.example/h?upstash-delay=10s").queryHeaders.get("upstash-delay")).toBe("10s");
		expect(readDestination("https:/a.example/h").destination).toEqual({ kind: "url", url: "https://a.example/h" });
		expect(readDestination("orders").destination).toEqual({ kind: "group", name: "orders" });
		expect(refusal(() => readDestination("api/llm")).status).toBe(501);
		// A group name that is not valid percent-encoding is bad input, never a 500 (found by the fuzz suite).
		expect(refusal(() => readDestination("%ZZ")).status).toBe(400);
		expect(refusal(() => readDestination("not a name")).status).toBe(400);
		expect(refusal(() => readDestination("~qstash")).status).toBe(400);
	});

	it("takes an upstash-<x> query parameter as a header, and a real header wins", () => {
		expect(read("https://a.example/?upstash-delay=10s").deliverAtMs).toBe(NOW + 10_000);
		expect(read("https://a.example/?upstash-delay=10s", { "upstash-delay": "1m" }).deliverAtMs).toBe(NOW + 60_000);
	});
});

describe("the /v2 publish headers", () => {
	it("have QStash's defaults", () => {
		expect(read("https://a.example/")).toEqual({
			destination: { kind: "url", url: "https://a.example/" },
			method: "POST",
			contentType: null,
			forward: {},
			deliverAtMs: NOW,
			deduplicationId: null,
			contentBasedDeduplication: false,
			retries: 3,
			retryDelay: null,
			timeoutMs: 30_000,
			labels: [],
			flowControl: null,
			queue: null,
		});
	});

	it("read a flow-control key and value as the SDK joins them, and a queue name", () => {
		const p = read("https://a.example/", {
			"upstash-flow-control-key": "customer 7",
			"upstash-flow-control-value": "parallelism=2, rate=10, period=1m",
		});
		expect(p.flowControl).toEqual({ key: "customer 7", parallelism: 2, rate: { limit: 10, periodMs: 60_000 } });
		const rateOnly = read("https://a.example/", {
			"upstash-flow-control-key": "k",
			"upstash-flow-control-value": "rate=5",
		});
		expect(rateOnly.flowControl).toEqual({ key: "k", parallelism: null, rate: { limit: 5, periodMs: 1000 } });
		const seconds = read("https://a.example/", {
			"upstash-flow-control-key": "k",
			"upstash-flow-control-value": "rate=5,period=30",
		});
		expect(seconds.flowControl?.rate).toEqual({ limit: 5, periodMs: 30_000 });
		expect(read("https://a.example/", { "upstash-queue-name": "orders.v2" }).queue).toBe("orders.v2");
	});

	it("read method, delay, not-before (it wins), retries, retry delay, timeout, dedup, labels, content type", () => {
		const p = read("https://a.example/", {
			"content-type": "text/plain",
			"upstash-method": "put",
			"upstash-delay": "1d10h30m",
			"upstash-retries": "0",
			"upstash-retry-delay": "pow(2, retried) * 1000",
			"upstash-timeout": "2m",
			"upstash-deduplication-id": "d-1",
			"upstash-content-based-deduplication": "true",
			"upstash-label": "a, b",
		});
		expect(p).toMatchObject({
			method: "PUT",
			contentType: "text/plain",
			deliverAtMs: NOW + (34 * 3600 + 30 * 60) * 1000,
			retries: 0,
			retryDelay: "pow(2, retried) * 1000",
			timeoutMs: 120_000,
			deduplicationId: "d-1",
			contentBasedDeduplication: true,
			labels: ["a", "b"],
		});
		expect(read("https://a.example/", { "upstash-delay": "1h", "upstash-not-before": "1796115600" }).deliverAtMs).toBe(
			1796115600_000,
		);
	});

	it("forward Upstash-Forward-* without the prefix; with Upstash-Header-Forward also the safe other headers", () => {
		expect(read("https://a.example/", { "upstash-forward-x-tenant": "a" }).forward).toEqual({ "x-tenant": "a" });
		const all = read("https://a.example/", {
			"upstash-header-forward": "true",
			"x-custom": "1",
			authorization: "Bearer secret",
			"cf-connecting-ip": "1.2.3.4",
			"x-forwarded-for": "1.2.3.4",
			"upstash-retries": "1",
			"upstash-telemetry-sdk": "x",
		});
		expect(all.forward).toEqual({ "x-custom": "1" });
	});

	it.each([
		[{ "upstash-method": "TRACE" }, "Upstash-Method"],
		[{ "upstash-delay": "soon" }, "Upstash-Delay"],
		[{ "upstash-delay": "400d" }, "Upstash-Delay"],
		[{ "upstash-not-before": "tomorrow" }, "Upstash-Not-Before"],
		[{ "upstash-retries": "100" }, "Upstash-Retries"],
		[{ "upstash-retries": "1.5" }, "Upstash-Retries"],
		[{ "upstash-retry-delay": "pow(2" }, "Upstash-Retry-Delay"],
		[{ "upstash-timeout": "11m" }, "Upstash-Timeout"],
		[{ "upstash-deduplication-id": "x".repeat(257) }, "Upstash-Deduplication-Id"],
	])("refuse %j with 400 naming %s", (headers, name) => {
		const r = refusal(() => read("https://a.example/", headers));
		expect(r.status).toBe(400);
		expect(r.message.startsWith(`${name}: `)).toBe(true);
	});

	it.each([["upstash-redact-fields", "body"]])("answer %s with 501", (name, value) => {
		expect(refusal(() => read("https://a.example/", { [name]: value })).status).toBe(501);
	});

	it("refuse more than 32 forwarded headers", () => {
		const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`upstash-forward-h${i}`, "v"]));
		expect(refusal(() => read("https://a.example/", many)).status).toBe(400);
	});
});
