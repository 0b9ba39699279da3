import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppEnv } from "../../src/config";
import { MAX_CONCURRENT_DELIVERIES } from "../../src/delivery/pool";
import type { QueueDelivery } from "../../src/delivery/queue";
import worker from "../../src/index";
import { api, json, received, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";
import {
	deliveryRow,
	message,
	publishParked,
	runAlarm,
	subscriptionStats,
	waitFor,
	waitForReceived,
} from "../lifecycle";

type ErrorBody = { error: { code: string; issues?: { path: string }[] } };

async function queueTopic(extra: Record<string, unknown> = {}) {
	const topic = uniqueName("queue");
	await api("PUT", `/v1/topics/${topic}`, {});
	const res = await json<Record<string, unknown>>("PUT", `/v1/topics/${topic}/subscriptions/q`, {
		type: "queue",
		queue: "EXAMPLE_QUEUE",
		...extra,
	});
	return { topic, res };
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe("queue subscriptions", () => {
	it("creates a queue subscription naming a producer binding (no secret)", async () => {
		const { topic, res } = await queueTopic({ retry: { max_attempts: 3 } });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({
			name: "q",
			type: "queue",
			queue: "EXAMPLE_QUEUE",
			url: null,
			timeout_ms: null,
			secret: null,
			retry: { max_attempts: 3 },
		});
		const again = await json("PUT", `/v1/topics/${topic}/subscriptions/q`, { type: "queue", queue: "EXAMPLE_QUEUE" });
		expect(again.status).toBe(200);
		expect(again.body.secret).toBeNull();
	});

	it("refuses unknown bindings, bindings that are not queues, and webhook fields", async () => {
		const topic = uniqueName("queue-bad");
		await api("PUT", `/v1/topics/${topic}`, {});
		const cases: [Record<string, unknown>, string][] = [
			[{ queue: "NO_SUCH_QUEUE" }, "queue"],
			[{ queue: "TOPIC" }, "queue"], // a Durable Object namespace
			[{ queue: "SUNDIAL_TOKEN" }, "queue"], // a variable
			[{ queue: "not a binding" }, "queue"],
			[{}, "queue"],
			[{ queue: "EXAMPLE_QUEUE", url: `${receiverUrl()}/x` }, "url"],
			[{ queue: "EXAMPLE_QUEUE", timeout: "5s" }, "timeout"],
			[{ queue: "EXAMPLE_QUEUE", headers: { "x-a": "b" } }, "headers"],
		];
		for (const [body, path] of cases) {
			const res = await json<ErrorBody>("PUT", `/v1/topics/${topic}/subscriptions/q`, { type: "queue", ...body });
			expect(res.status, JSON.stringify(body)).toBe(400);
			expect(
				res.body.error.issues?.map((i) => i.path),
				JSON.stringify(body),
			).toEqual([path]);
		}
		const leaked = await json<ErrorBody>("PUT", `/v1/topics/${topic}/subscriptions/q`, {
			type: "queue",
			queue: "SUNDIAL_TOKEN",
		});
		expect(JSON.stringify(leaked.body)).not.toContain("test-token");
		expect((await api("GET", `/v1/topics/${topic}/subscriptions/q`)).status).toBe(404);
	});

	it("sends due messages to the queue: delivered once sent, and the example consumer receives them", async () => {
		const log = vi.spyOn(console, "log");
		const { topic } = await queueTopic();
		const now = Date.now();
		await publishParked(topic, [message("q1", now, { n: 1 }), message("q2", now, { n: 2 })]);
		expect(await runAlarm(topic)).toBe(true);
		for (const id of ["q1", "q2"]) {
			expect(await deliveryRow(topic, id, "q")).toMatchObject({
				state: "delivered",
				attempts: 1,
				next_at_ms: null,
				last_status: null,
				last_error: null,
			});
		}
		expect((await subscriptionStats(topic, "q")).counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 2, dead: 0 });

		// The consumer in wrangler.toml (the Worker's own queue handler) logs each message it acks.
		const deliverAt = new Date(now).toISOString();
		const lines = await waitFor("the example consumer", async () => {
			const found = log.mock.calls.map((c) => String(c[0])).filter((l) => l.includes(`${topic}/q message`));
			return found.length >= 2 ? found : undefined;
		});
		expect(lines.sort()).toEqual([
			`sundial example consumer: ${topic}/q message q1 attempt 1 due ${deliverAt}: {"n":1}`,
			`sundial example consumer: ${topic}/q message q2 attempt 1 due ${deliverAt}: {"n":2}`,
		]);
	});

	it("a message over the Queues size limit is a dead delivery with the reason", async () => {
		const { topic } = await queueTopic();
		await publishParked(topic, [message("big", Date.now(), { blob: "x".repeat(130_000) })]);
		expect(await runAlarm(topic)).toBe(true);
		expect(await deliveryRow(topic, "big", "q")).toMatchObject({
			state: "dead",
			last_error: expect.stringMatching(/128 KB/),
		});
	});

	it("the example consumer acks every message of a batch", async () => {
		const body = (id: string): QueueDelivery => ({
			id,
			topic: "t",
			subscription: "q",
			attempt: 1,
			deliver_at: "2026-12-01T09:00:00.000Z",
			headers: {},
			body: { id },
		});
		const batch = createMessageBatch<QueueDelivery>("sundial-example", [
			{ id: "msg-1", timestamp: new Date(), attempts: 1, body: body("a") },
			{ id: "msg-2", timestamp: new Date(), attempts: 1, body: body("b") },
			{ id: "msg-3", timestamp: new Date(), attempts: 2, body: body("c") },
		]);
		const ctx = createExecutionContext();
		vi.spyOn(console, "log").mockImplementation(() => {});
		const queue: ExportedHandlerQueueHandler<AppEnv, QueueDelivery> = worker.queue;
		await queue(batch, env, ctx);
		const result = await getQueueResult(batch, ctx);
		expect(result.outcome).toBe("ok");
		expect(result.retryBatch.retry).toBe(false);
		expect(result.retryMessages).toEqual([]);
		expect([...result.explicitAcks].sort()).toEqual(["msg-1", "msg-2", "msg-3"]);
	});
});

describe("paused subscriptions", () => {
	it("keep deliveries scheduled through an alarm run, then deliver what is due in due order when un-paused", async () => {
		const topic = uniqueName("paused");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path, { paused: true });
		const n = 30;
		const now = Date.now();
		// Due times 1 s apart in the past, published in a scrambled order (so storage order is not due order).
		const order = Array.from({ length: n }, (_, i) => (i * 7) % n);
		await publishParked(
			topic,
			order.map((i) => message(`m${String(i).padStart(2, "0")}`, now - (n - i) * 1000)),
		);
		expect(await runAlarm(topic)).toBe(true);
		expect(await received(path)).toEqual([]);
		const first = await subscriptionStats(topic);
		expect(first.paused).toBe(true);
		expect(first.counts).toEqual({ scheduled: n, in_flight: 0, delivered: 0, dead: 0 });
		expect(first.oldest_due_lag_ms).toBeGreaterThanOrEqual(n * 1000);
		await new Promise((r) => setTimeout(r, 30));
		expect((await subscriptionStats(topic)).oldest_due_lag_ms).toBeGreaterThan(first.oldest_due_lag_ms);

		const resumed = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			paused: false,
		});
		expect(resumed.status).toBe(200);
		const got = await waitForReceived(path, n);
		expect(got).toHaveLength(n);
		const dueRanks = got.map((r) => Number(r.headers["webhook-id"]?.slice(1)));
		expect(new Set(dueRanks).size).toBe(n);
		const dueAt = got.map((r) => Date.parse(r.headers["sundial-deliver-at"] as string));
		expect(dueAt.every((t, i) => t === now - (n - (dueRanks[i] as number)) * 1000)).toBe(true);
		// Oldest due first: with at most 6 attempts on the wire, the k-th due message reaches the receiver only
		// after at least k - 5 of the messages due before it did.
		dueRanks.forEach((rank, position) => {
			const earlierDueBefore = dueRanks.slice(0, position).filter((r) => r < rank).length;
			expect(earlierDueBefore, `m${rank} at position ${position}`).toBeGreaterThanOrEqual(
				rank - (MAX_CONCURRENT_DELIVERIES - 1),
			);
		});
		await waitFor("all delivered", async () =>
			(await subscriptionStats(topic)).counts.delivered === n ? true : undefined,
		);
		expect(await subscriptionStats(topic)).toMatchObject({ oldest_due_lag_ms: 0, paused: false });
	});
});
