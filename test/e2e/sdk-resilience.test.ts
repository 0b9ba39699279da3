import { afterAll, describe, expect, it } from "vitest";
import { Sundial as Client, SundialError, verifyWebhook } from "../../packages/sdk/src/index.js";
import { type FlakyProxy, startFlakyProxy } from "../support/flaky-proxy.js";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import type { Sundial } from "./lib.js";

/**
 * The SDK when things go wrong, against the real Worker behind a proxy that injects faults: retries
 * of idempotent calls only, Retry-After, timeouts, aborts, batch items of a failed partition sent
 * again; partitioned topics without partition-aware code; webhook verification of real deliveries.
 */
describe("sundial-sdk: failures, partitions, webhooks (wrangler dev)", () => {
	let sundial: Sundial;
	let receiver: Receiver;
	let proxy: FlakyProxy;
	const fast = { retries: 3, baseDelayMs: 20, maxDelayMs: 2_000 };
	const via = (extra: Partial<ConstructorParameters<typeof Client>[0]> = {}) =>
		new Client({ url: proxy.url, token: sundial.token, retry: fast, ...extra });

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
		proxy = await startFlakyProxy(s.worker.url);
		const direct = new Client({ url: s.worker.url, token: s.token });
		await direct.topics.upsert("sdk-faults");
		await direct.subscriptions.upsert("sdk-faults", "p", { type: "pull" });
	});
	afterAll(() => proxy?.close());

	it("retries an idempotent call after 503s and a dropped connection", async () => {
		proxy.seen.length = 0;
		proxy.inject({ status: 503 }, { reset: "before" }, { status: 503 });
		expect((await via().topics.get("sdk-faults")).name).toBe("sdk-faults");
		expect(proxy.seen).toEqual(Array(4).fill("GET /v1/topics/sdk-faults"));
	});

	it("waits what a 429's Retry-After says", async () => {
		proxy.inject({ status: 429, retryAfter: "1" });
		const startedMs = Date.now();
		await via().topics.get("sdk-faults");
		expect(Date.now() - startedMs).toBeGreaterThanOrEqual(950);
	});

	it("gives up after `retries` and throws the last answer", async () => {
		proxy.seen.length = 0;
		proxy.inject({ status: 503 }, { status: 503 }, { status: 503 });
		const error = await via({ retry: { ...fast, retries: 2 } })
			.topics.get("sdk-faults")
			.catch((e: unknown) => e);
		expect(error).toMatchObject({ status: 503, code: "injected" });
		expect(proxy.seen).toHaveLength(3);
		proxy.inject({ status: 503 });
		expect(
			await via({ retry: false })
				.topics.get("sdk-faults")
				.catch((e: unknown) => e),
		).toMatchObject({ status: 503 });
	});

	it("never repeats a publish without an id; repeats one with an id, which the Worker answers as a duplicate", async () => {
		proxy.seen.length = 0;
		proxy.inject({ reset: "before" });
		const lost = await via()
			.messages.publish("sdk-faults", { body: 1 })
			.catch((e: unknown) => e);
		expect(lost).toBeInstanceOf(SundialError);
		expect(lost).toMatchObject({ status: 0, code: "network_error" });
		expect(proxy.seen).toEqual(["POST /v1/topics/sdk-faults/messages"]);

		proxy.inject({ reset: "after" });
		const result = await via().messages.publish("sdk-faults", { body: 2, id: "stored-then-lost" });
		expect(result).toMatchObject({ id: "stored-then-lost", duplicate: true });
		expect((await via().messages.get("sdk-faults", "stored-then-lost")).body).toBe(2);
	});

	it("sends batch items whose partition failed again under their ids; each is stored once", async () => {
		const items = Array.from({ length: 20 }, (_, i) => ({ body: i, id: `part-${i}`, delay: "1h" as const }));
		proxy.inject({ failBatchItems: [3, 11] });
		const results = await via().messages.publishBatch("sdk-faults", items);
		expect(results.map((r) => ("error" in r ? r.error.code : r.id))).toEqual(items.map((i) => i.id));
		expect(results.some((r) => "duplicate" in r && r.duplicate)).toBe(false);
		expect((await via().messages.get("sdk-faults", "part-11")).body).toBe(11);
	});

	it("times out a call that gets no answer, and stops one whose signal aborts", async () => {
		proxy.inject({ delayMs: 1_500 });
		const slow = await via({ timeoutMs: 300, retry: false })
			.topics.get("sdk-faults")
			.catch((e: unknown) => e);
		expect(slow).toMatchObject({ status: 0, code: "timeout" });

		await via().subscriptions.upsert("sdk-faults", "idle", { type: "pull" }); // nothing due for it
		const controller = new AbortController();
		const startedMs = Date.now();
		setTimeout(() => controller.abort(), 200);
		const aborted = await via()
			.pull.receive("sdk-faults", "idle", { wait: "10s" }, { signal: controller.signal })
			.catch((e: unknown) => e);
		expect(aborted).toMatchObject({ status: 0, code: "aborted" });
		expect(Date.now() - startedMs).toBeLessThan(2_000);
	});

	it("works on a partitioned topic like on any other: batch, get by id, merged lists and counts, pull", async () => {
		const client = new Client({ url: sundial.worker.url, token: sundial.token });
		await client.topics.upsert("sdk-parts", { partitions: 8 });
		await client.subscriptions.upsert("sdk-parts", "p", { type: "pull" });
		const items = Array.from({ length: 400 }, (_, i) => ({ body: { i }, id: `p-${i}` }));
		const results = await client.messages.publishBatch("sdk-parts", items);
		expect(results.every((r) => "deliver_at" in r)).toBe(true);
		expect((await client.messages.get("sdk-parts", "p-123")).body).toEqual({ i: 123 });
		let listed = 0;
		for await (const _ of client.messages.all("sdk-parts", { limit: 50 })) listed++;
		expect(listed).toBe(400);
		expect((await client.topics.get("sdk-parts")).counts.scheduled).toBe(400);
		const pulled = new Set<string>();
		while (pulled.size < 400) {
			const got = await client.pull.receive("sdk-parts", "p", { max: 100, wait: "2s" });
			expect(got.length).toBeGreaterThan(0);
			for (const m of got) pulled.add(m.id);
			await client.pull.ack(
				"sdk-parts",
				"p",
				got.map((m) => m.receipt),
			);
		}
		expect((await client.subscriptions.get("sdk-parts", "p")).counts).toMatchObject({ delivered: 400, in_flight: 0 });
	});

	it("verifyWebhook accepts a real delivery and refuses a tampered one or a wrong secret", async () => {
		const client = new Client({ url: sundial.worker.url, token: sundial.token });
		await client.topics.upsert("sdk-hooks");
		const sub = await client.subscriptions.upsert("sdk-hooks", "h", {
			type: "webhook",
			url: `${receiver.url}/sdk-hook`,
		});
		const secret = sub.secret as string;
		await client.messages.publish("sdk-hooks", { body: { order: 42 }, id: "hook-1", request_id: "trace-1" });
		await client.messages.publish("sdk-hooks", { body: "plain", content_type: "text/plain", id: "hook-2" });
		await receiver.waitFor((all) => all.filter((r) => r.path === "/sdk-hook").length >= 2, 15_000);
		const asRequest = (id: string, body?: string) => {
			const r = receiver.received.find((x) => x.path === "/sdk-hook" && x.headers["webhook-id"] === id);
			if (!r) throw new Error(`no delivery of ${id}`);
			return new Request(`${receiver.url}${r.url}`, { method: "POST", headers: r.headers, body: body ?? r.body });
		};

		const json = await verifyWebhook(secret, asRequest("hook-1"));
		expect(json).toMatchObject({
			id: "hook-1",
			body: { order: 42 },
			topic: "sdk-hooks",
			subscription: "h",
			attempt: 1,
		});
		expect(json.requestId).toBe("trace-1");
		expect(Math.abs(json.timestamp.getTime() - Date.now())).toBeLessThan(60_000);
		expect((await verifyWebhook(secret, asRequest("hook-2"))).body).toBe("plain");

		const tampered = await verifyWebhook(secret, asRequest("hook-1", '{"order":43}')).catch((e: unknown) => e);
		expect(tampered).toMatchObject({ status: 0, code: "invalid_signature" });
		const other = await client.subscriptions.upsert("sdk-hooks", "other", {
			type: "webhook",
			url: `${receiver.url}/x`,
		});
		const wrong = await verifyWebhook(other.secret as string, asRequest("hook-1")).catch((e: unknown) => e);
		expect(wrong).toMatchObject({ code: "invalid_signature" });
	});
});
