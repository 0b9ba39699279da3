import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLAIM_AHEAD_MS } from "../../src/topic/dispatcher";
import { TopicStore } from "../../src/topic/store";
import { behave, json, received, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";
import {
	deliveryRow,
	getAlarm,
	message,
	publishParked,
	runAlarm,
	sql,
	stubOf,
	subscriptionStats,
	waitFor,
	waitForReceived,
} from "../lifecycle";

// Steering one message: cancel (also racing an attempt in flight), deliver now, reschedule.

const HOUR = 3_600_000;
type ErrorBody = { error: { code: string; issues?: { path: string }[] } };

/** Marks every delivery of the topic in flight as the dispatcher's claim does; returns the claim key. */
function claimDirectly(topic: string) {
	return runInDurableObject(stubOf(topic), (_i, state) =>
		state.storage.sql
			.exec<{ mid: number; sid: number; lease: number; messageId: string; attempt: number }>(
				`UPDATE deliveries SET state = 'in_flight', attempts = attempts + 1, lease = lease + 1, next_at_ms = ?
				 RETURNING mid, sid, lease, (SELECT id FROM messages m WHERE m.mid = deliveries.mid) AS messageId, attempts AS attempt`,
				Date.now() + 30_000,
			)
			.one(),
	);
}

describe("cancel", () => {
	it("cancels every pending delivery, and the alarm does not deliver it", async () => {
		const topic = uniqueName("cancel");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		await json("PUT", `/v1/topics/${topic}/subscriptions/audit`, { type: "webhook", url: `${receiverUrl()}${path}` });
		await publishParked(topic, [message("due", Date.now()), message("kept", Date.now())]);

		expect((await json("DELETE", `/v1/topics/${topic}/messages/due`)).body).toEqual({ id: "due", cancelled: 2 });
		expect((await json("DELETE", `/v1/topics/${topic}/messages/due`)).body).toEqual({ id: "due", cancelled: 0 });
		expect(await runAlarm(topic)).toBe(true);

		expect((await received(path)).map((r) => r.headers["webhook-id"])).toEqual(["kept", "kept"]);
		const detail = await json<{ deliveries: { state: string; next_attempt_at: string | null }[] }>(
			"GET",
			`/v1/topics/${topic}/messages/due`,
		);
		expect(detail.body.deliveries.map((d) => [d.state, d.next_attempt_at])).toEqual([
			["cancelled", null],
			["cancelled", null],
		]);
		const t = await json<{ counts: Record<string, number> }>("GET", `/v1/topics/${topic}`);
		expect(t.body.counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 2, dead: 0, cancelled: 2 });
		expect((await subscriptionStats(topic)).counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 1, dead: 0 });
		// A delivered message has nothing pending: cancelling changes nothing.
		expect((await json("DELETE", `/v1/topics/${topic}/messages/kept`)).body).toEqual({ id: "kept", cancelled: 0 });
		expect((await deliveryRow(topic, "kept")).state).toBe("delivered");
	});

	it("keeps a delivery cancelled while its attempt is on the wire", async () => {
		const topic = uniqueName("cancel-flight");
		const path = `/hook/${topic}`;
		await behave(path, { status: 200, delayMs: 600 });
		await topicWithWebhook(topic, path);
		await publishParked(topic, [message("m1", Date.now())]);

		const alarm = runAlarm(topic);
		await waitForReceived(path, 1);
		expect((await deliveryRow(topic, "m1")).state).toBe("in_flight");
		expect((await subscriptionStats(topic)).counts.in_flight).toBe(1);
		expect((await json("DELETE", `/v1/topics/${topic}/messages/m1`)).body).toEqual({ id: "m1", cancelled: 1 });
		expect(await alarm).toBe(true);

		// The receiver answered 200, but the outcome is discarded: the delivery stays cancelled.
		expect(await deliveryRow(topic, "m1")).toMatchObject({ state: "cancelled", next_at_ms: null, last_status: null });
		expect((await subscriptionStats(topic)).counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 0, dead: 0 });
		const t = await json<{ counts: Record<string, number> }>("GET", `/v1/topics/${topic}`);
		expect(t.body.counts.cancelled).toBe(1);
		expect(await runAlarm(topic)).toBe(true); // the retention sweep's alarm: delivers nothing
		expect(await received(path)).toHaveLength(1);
	});

	it("an attempt recorded after a cancel changes nothing, whatever its outcome", async () => {
		const topic = uniqueName("cancel-record");
		await topicWithWebhook(topic, `/hook/${topic}`);
		await publishParked(topic, [message("m1", Date.now() + HOUR)]);
		const claim = await claimDirectly(topic);
		expect((await json("DELETE", `/v1/topics/${topic}/messages/m1`)).body).toEqual({ id: "m1", cancelled: 1 });
		const recorded = await runInDurableObject(stubOf(topic), (_i, state) => {
			const store = new TopicStore(state.storage);
			const now = Date.now();
			return [
				store.recordAttempts([{ kind: "delivered", ...claim, status: 200, atMs: now }], now),
				store.recordAttempts([{ kind: "retry", ...claim, status: 500, error: "HTTP 500", nextAtMs: now }], now),
				store.recordAttempts([{ kind: "dead", ...claim, status: 500, error: "HTTP 500" }], now),
			];
		});
		expect(recorded).toEqual([0, 0, 0]);
		expect(await deliveryRow(topic, "m1")).toMatchObject({ state: "cancelled", attempts: 1, last_status: null });
		expect(await sql(topic, "SELECT state, n FROM delivery_counts WHERE n != 0")).toEqual([
			{ state: "cancelled", n: 1 },
		]);
	});

	it("an attempt in flight is left to finish: reschedule answers 409, deliver moves nothing, the outcome is recorded", async () => {
		const topic = uniqueName("flight-move");
		await topicWithWebhook(topic, `/hook/${topic}`);
		await publishParked(topic, [message("m1", Date.now() + HOUR)]);
		const claim = await claimDirectly(topic);
		const leaseEnd = (await deliveryRow(topic, "m1")).next_at_ms;
		const moved = await json<ErrorBody>("POST", `/v1/topics/${topic}/messages/m1/reschedule`, { delay: "2h" });
		expect(moved.status).toBe(409);
		expect(moved.body.error.code).toBe("not_scheduled");
		expect((await json("POST", `/v1/topics/${topic}/messages/m1/deliver`)).body).toEqual({ id: "m1", scheduled: 0 });
		expect(await deliveryRow(topic, "m1")).toMatchObject({ state: "in_flight", next_at_ms: leaseEnd });
		const recorded = await runInDurableObject(stubOf(topic), (_i, state) => {
			const now = Date.now();
			return new TopicStore(state.storage).recordAttempts(
				[{ kind: "delivered", ...claim, status: 204, atMs: now }],
				now,
			);
		});
		expect(recorded).toBe(1);
		expect(await deliveryRow(topic, "m1")).toMatchObject({ state: "delivered", last_status: 204, next_at_ms: null });
		expect((await subscriptionStats(topic)).counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 1, dead: 0 });
	});
});

describe("deliver now and reschedule", () => {
	it("POST deliver makes a far-future message deliver on the next alarm", async () => {
		const topic = uniqueName("force");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		await json("POST", `/v1/topics/${topic}/messages`, { id: "later", body: 1, delay: "1h" });
		const before = Date.now();
		expect((await json("POST", `/v1/topics/${topic}/messages/later/deliver`)).body).toEqual({
			id: "later",
			scheduled: 1,
		});
		const [got] = await waitForReceived(path, 1);
		expect(got?.headers["webhook-id"]).toBe("later");
		expect(got?.receivedAtMs).toBeLessThan(before + 5000);
		await waitFor("delivered", async () =>
			(await deliveryRow(topic, "later")).state === "delivered" ? true : undefined,
		);
		// Nothing scheduled any more: a second force moves nothing.
		expect((await json("POST", `/v1/topics/${topic}/messages/later/deliver`)).body).toEqual({
			id: "later",
			scheduled: 0,
		});
	});

	it("POST reschedule moves deliver_at and the scheduled deliveries, by delay or deliver_at", async () => {
		const topic = uniqueName("resched");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const pub = await json<{ deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, {
			id: "m1",
			body: 1,
			delay: "1h",
		});
		expect(await getAlarm(topic)).toBe(Date.parse(pub.body.deliver_at) - CLAIM_AHEAD_MS);

		const before = Date.now();
		const byDelay = await json<{ id: string; deliver_at: string; scheduled: number }>(
			"POST",
			`/v1/topics/${topic}/messages/m1/reschedule`,
			{ delay: "30m" },
		);
		expect(byDelay.status).toBe(200);
		const atMs = Date.parse(byDelay.body.deliver_at);
		expect(atMs).toBeGreaterThanOrEqual(before + 30 * 60_000);
		expect(atMs).toBeLessThanOrEqual(Date.now() + 30 * 60_000);
		expect(byDelay.body).toMatchObject({ id: "m1", scheduled: 1 });
		expect((await deliveryRow(topic, "m1")).next_at_ms).toBe(atMs);
		expect(await sql(topic, "SELECT deliver_at_ms FROM messages")).toEqual([{ deliver_at_ms: atMs }]);
		expect(await getAlarm(topic)).toBe(atMs - CLAIM_AHEAD_MS); // earlier than the old alarm: moved

		const target = new Date(Math.floor(Date.now() / 1000) * 1000 + 30 * 86_400_000).toISOString();
		const byInstant = await json("POST", `/v1/topics/${topic}/messages/m1/reschedule`, { deliver_at: target });
		expect(byInstant.body).toEqual({ id: "m1", deliver_at: target, scheduled: 1 });
		expect((await deliveryRow(topic, "m1")).next_at_ms).toBe(Date.parse(target));
		const detail = await json<{ deliver_at: string; deliveries: { next_attempt_at: string }[] }>(
			"GET",
			`/v1/topics/${topic}/messages/m1`,
		);
		expect(detail.body.deliver_at).toBe(target);
		expect(detail.body.deliveries[0]?.next_attempt_at).toBe(target);
	});

	it("POST reschedule: both or neither of delay and deliver_at is a 400; nothing scheduled is a 409", async () => {
		const topic = uniqueName("resched-bad");
		await topicWithWebhook(topic, `/hook/${topic}`);
		await json("POST", `/v1/topics/${topic}/messages`, { id: "m1", body: 1, delay: "1h" });
		const url = `/v1/topics/${topic}/messages/m1/reschedule`;
		for (const body of [{}, { delay: "1m", deliver_at: "2030-01-01T00:00:00Z" }, { delay: "soon" }, { delay: -1 }]) {
			const res = await json<ErrorBody>("POST", url, body);
			expect(res.status, JSON.stringify(body)).toBe(400);
		}
		expect((await json<ErrorBody>("POST", url, { delay: 400 * 86_400 })).status).toBe(400);
		const before = await deliveryRow(topic, "m1");
		expect((await json("DELETE", `/v1/topics/${topic}/messages/m1`)).status).toBe(200);
		const conflict = await json<ErrorBody>("POST", url, { delay: "5m" });
		expect(conflict.status).toBe(409);
		expect(conflict.body.error.code).toBe("not_scheduled");
		expect(await sql(topic, "SELECT deliver_at_ms FROM messages")).toEqual([{ deliver_at_ms: before.next_at_ms }]);
	});
});
