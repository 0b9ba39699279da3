import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { sendWebhook } from "../../src/delivery/webhook";
import { api, behave, json, received, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";

async function waitForReceived(path: string, count: number, timeoutMs = 10_000) {
	const start = Date.now();
	for (;;) {
		const got = await received(path);
		if (got.length >= count) return got;
		if (Date.now() - start > timeoutMs) throw new Error(`receiver got ${got.length}/${count} on ${path}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe("webhook delivery", () => {
	it("delivers the body byte for byte with verifiable Standard Webhooks headers", async () => {
		const topic = uniqueName();
		const path = `/hook/${topic}`;
		const secret = await topicWithWebhook(topic, path, { headers: { "x-env": "test" } });
		expect(secret).toMatch(/^whsec_/);
		const pub = await json("POST", `/v1/topics/${topic}/messages`, {
			body: { order: 42, note: "ünïcødé" },
			delay: "200ms",
			id: "order-42",
			request_id: "trace-1",
			headers: { "X-Tenant": "a" },
		});
		expect(pub.status).toBe(201);
		const [got] = await waitForReceived(path, 1);
		if (!got) throw new Error("nothing received");
		expect(got.body).toBe(JSON.stringify({ order: 42, note: "ünïcødé" }));
		expect(got.headers["content-type"]).toBe("application/json");
		expect(got.headers["webhook-id"]).toBe("order-42");
		expect(got.headers["x-request-id"]).toBe("trace-1");
		expect(got.headers["x-tenant"]).toBe("a");
		expect(got.headers["x-env"]).toBe("test");
		expect(got.headers["sundial-topic"]).toBe(topic);
		expect(got.headers["sundial-subscription"]).toBe("hook");
		expect(got.headers["sundial-attempt"]).toBe("1");
		expect(got.headers["sundial-deliver-at"]).toBe(pub.body.deliver_at);
		expect(got.receivedAtMs).toBeGreaterThanOrEqual(Date.parse(pub.body.deliver_at as string));
		const verified = new Webhook(secret).verify(got.body, got.headers);
		expect(verified).toEqual({ order: 42, note: "ünïcødé" });

		const detail = await json<{ deliveries: { state: string; attempts: number; last_status: number }[] }>(
			"GET",
			`/v1/topics/${topic}/messages/order-42`,
		);
		expect(detail.body.deliveries).toMatchObject([
			{ subscription: "hook", state: "delivered", attempts: 1, last_status: 200 },
		]);
	});

	it("keeps a text body and its content type", async () => {
		const topic = uniqueName();
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		await api("POST", `/v1/topics/${topic}/messages`, {
			body: "plain\ntext",
			content_type: "text/plain; charset=utf-8",
		});
		const [got] = await waitForReceived(path, 1);
		expect(got?.body).toBe("plain\ntext");
		expect(got?.headers["content-type"]).toBe("text/plain; charset=utf-8");
	});

	it("retries a failing receiver and records the failure", async () => {
		const topic = uniqueName();
		const path = `/hook/${topic}`;
		await fetch(`${receiverUrl()}/_control/behaviour?path=${encodeURIComponent(path)}`, {
			method: "POST",
			body: JSON.stringify({ status: 500 }),
		});
		await topicWithWebhook(topic, path, { retry: { max_attempts: 2, backoff: "fixed", base: "100ms" } });
		await api("POST", `/v1/topics/${topic}/messages`, { body: 1, id: "m1" });
		await waitForReceived(path, 2);
		const start = Date.now();
		let state = "";
		while (Date.now() - start < 5000) {
			const detail = await json<{ deliveries: { state: string }[] }>("GET", `/v1/topics/${topic}/messages/m1`);
			state = detail.body.deliveries[0]?.state ?? "";
			if (state === "dead") break;
			await new Promise((r) => setTimeout(r, 20));
		}
		const detail = await json<{ deliveries: unknown[] }>("GET", `/v1/topics/${topic}/messages/m1`);
		expect(detail.body.deliveries).toMatchObject([
			{ state: "dead", attempts: 2, last_status: 500, last_error: "HTTP 500" },
		]);
		const got = await received(path);
		expect(got.map((r) => r.headers["sundial-attempt"])).toEqual(["1", "2"]);
		expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set(["m1"]));
	});
});

/** One webhook attempt to the test receiver at `path`. */
const attempt = (path: string, timeoutMs: number) => ({
	url: `${receiverUrl()}${path}`,
	secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	topic: "t",
	subscription: "s",
	messageId: "m1",
	attempt: 1,
	deliverAtMs: Date.now(),
	body: "{}",
	contentType: "application/json",
	requestId: null,
	messageHeaders: {},
	subscriptionHeaders: {},
	timeoutMs,
});

describe("sendWebhook timers", () => {
	// workerd allows an object 10,000 active timers; a timer left running per attempt (as
	// AbortSignal.timeout() does) made sustained pushes fail with QuotaExceededError.
	it("clears its timeout timer as soon as the attempt ends", async () => {
		const set = vi.spyOn(globalThis, "setTimeout");
		const clear = vi.spyOn(globalThis, "clearTimeout");
		try {
			const result = await sendWebhook(attempt(`/timers/${uniqueName()}`, 30_000));
			expect(result).toEqual({ kind: "response", status: 200, retryAfter: null });
			const started = set.mock.results.filter((r) => r.type === "return").map((r) => r.value);
			expect(started.length).toBeGreaterThanOrEqual(1);
			const cleared = new Set(clear.mock.calls.map((c) => c[0]));
			for (const id of started) expect(cleared.has(id)).toBe(true);
		} finally {
			set.mockRestore();
			clear.mockRestore();
		}
	});

	it("still reports a timeout as one", async () => {
		const path = `/timers/${uniqueName()}`;
		await behave(path, { status: 200, delayMs: 1000 });
		const result = await sendWebhook(attempt(path, 100));
		expect(result).toEqual({ kind: "error", error: "no response within 100 ms" });
	});
});

describe("webhook connections", () => {
	// Cancelling an unread response body made workerd open a new connection for every attempt.
	it("reuses connections: the response body is read, not cancelled", async () => {
		const topic = uniqueName("reuse");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		await behave(path, { status: 200, body: "thanks" });
		const items = Array.from({ length: 30 }, (_, i) => ({ body: { i } }));
		expect((await api("POST", `/v1/topics/${topic}/messages/batch`, items)).status).toBe(200);
		const got = await waitForReceived(path, 30);
		// Count the connections these requests opened: cancelling bodies opened one per request (30).
		// Connections are pooled per host across every object of the process (other test files
		// deliver to this receiver at the same time and may break some), so a few more than the six
		// this object keeps busy can open; far fewer than one per request.
		const opened = got.filter((r) => r.onConnection === 1).length;
		expect(opened).toBeLessThanOrEqual(got.length / 3);
	});

	it("counts a 2xx with a body over 64 KB as delivered (the rest of the body is not read)", async () => {
		const path = `/timers/${uniqueName()}`;
		await behave(path, { status: 200, body: "x".repeat(200_000) });
		const result = await sendWebhook(attempt(path, 5_000));
		expect(result).toEqual({ kind: "response", status: 200, retryAfter: null });
	});
});
