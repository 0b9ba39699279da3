import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { api, json, received, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";

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
