import { describe, expect, it } from "vitest";
import { json, uniqueName } from "../helpers";
import {
	ack,
	alarmAt,
	counts,
	delivery,
	extend,
	makeDueNow,
	nack,
	publish,
	publishBatch,
	pullTopic,
	receive,
	runAlarm,
} from "../pull";

const RECEIPT = /^[0-9a-z]{1,2}\.[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/;
const iso = (ms: number) => new Date(ms).toISOString();

describe("receive", () => {
	it("returns id, receipt, parsed body, headers, attempt and deliver_at; a text/plain body as the string", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic);
		const now = Date.now();
		const first = iso(now - 5000);
		const second = iso(now - 1000);
		expect(
			(await publish(topic, { id: "j", body: { a: [1, "x"] }, deliver_at: first, headers: { "X-Tenant": "a" } }))
				.status,
		).toBe(201);
		expect(
			(await publish(topic, { id: "t", body: "plain words", content_type: "text/plain", deliver_at: second })).status,
		).toBe(201);

		const res = await receive(topic, { max: 10 });
		expect(res.status).toBe(200);
		expect(res.body.messages).toEqual([
			{
				id: "j",
				receipt: expect.stringMatching(RECEIPT),
				body: { a: [1, "x"] },
				headers: { "x-tenant": "a" },
				attempt: 1,
				deliver_at: first,
			},
			{
				id: "t",
				receipt: expect.stringMatching(RECEIPT),
				body: "plain words",
				headers: {},
				attempt: 1,
				deliver_at: second,
			},
		]);
		const [a, b] = res.body.messages;
		expect(a?.receipt).not.toBe(b?.receipt);
		expect(await delivery(topic, "j")).toMatchObject({ state: "in_flight", attempts: 1, lease: 1 });
	});

	it("returns at most max messages, earliest due first, and never one that is not due yet", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic);
		const now = Date.now();
		// Published in an order that differs from the due order.
		await publishBatch(topic, [
			{ id: "d3", body: 3, deliver_at: iso(now - 3000) },
			{ id: "d1", body: 1, deliver_at: iso(now - 5000) },
			{ id: "later", body: 0, delay: "1h" },
			{ id: "d4", body: 4, deliver_at: iso(now - 2000) },
			{ id: "d2", body: 2, deliver_at: iso(now - 4000) },
			{ id: "d5", body: 5, deliver_at: iso(now - 1000) },
		]);
		const two = await receive(topic, { max: 2 });
		expect(two.body.messages.map((m) => m.id)).toEqual(["d1", "d2"]);
		const rest = await receive(topic, { max: 100 });
		expect(rest.body.messages.map((m) => m.id)).toEqual(["d3", "d4", "d5"]);
		expect((await receive(topic, { max: 100 })).body.messages).toEqual([]);
		expect(await delivery(topic, "later")).toMatchObject({ state: "scheduled", attempts: 0 });
		expect(await counts(topic)).toEqual({ scheduled: 1, in_flight: 5, delivered: 0, dead: 0 });
	});

	it("leases for the receive's visibility_timeout, else the subscription's", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { visibility_timeout: "45s" });
		await publishBatch(topic, [
			{ id: "a", body: 1 },
			{ id: "b", body: 2 },
		]);
		const before = Date.now();
		expect((await receive(topic, { max: 1 })).body.messages.map((m) => m.id)).toEqual(["a"]);
		expect((await receive(topic, { max: 1, visibility_timeout: "2m" })).body.messages.map((m) => m.id)).toEqual(["b"]);
		const after = Date.now();
		const a = (await delivery(topic, "a")).next_at_ms as number;
		const b = (await delivery(topic, "b")).next_at_ms as number;
		expect(a).toBeGreaterThanOrEqual(before + 45_000);
		expect(a).toBeLessThanOrEqual(after + 45_000);
		expect(b).toBeGreaterThanOrEqual(before + 120_000);
		expect(b).toBeLessThanOrEqual(after + 120_000);
	});

	it("never hands the same lease to two concurrent receives", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic);
		await publishBatch(
			topic,
			Array.from({ length: 50 }, (_, i) => ({ id: `c${i}`, body: i })),
		);
		const results = await Promise.all(Array.from({ length: 12 }, () => receive(topic, { max: 7 })));
		const ids = results.flatMap((r) => r.body.messages.map((m) => m.id));
		const receipts = results.flatMap((r) => r.body.messages.map((m) => m.receipt));
		expect(results.every((r) => r.status === 200)).toBe(true);
		expect(ids).toHaveLength(50);
		expect(new Set(ids).size).toBe(50);
		expect(new Set(receipts).size).toBe(50);
		expect(await counts(topic)).toEqual({ scheduled: 0, in_flight: 50, delivered: 0, dead: 0 });
	});

	it("binds a receipt to its subscription: it acks nothing on another subscription of the topic", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, {}, "a");
		await pullTopic(topic, {}, "b");
		await publish(topic, { id: "m", body: 1 });
		const [fromA] = (await receive(topic, {}, "a")).body.messages;
		if (!fromA) throw new Error("nothing received on a");
		expect((await ack(topic, [fromA.receipt], "b")).body.results).toEqual({ [fromA.receipt]: false });
		expect((await nack(topic, [fromA.receipt], "1s", "b")).body.results).toEqual({ [fromA.receipt]: false });
		expect((await extend(topic, fromA.receipt, "1h", "b")).body.extended).toBe(false);
		const [fromB] = (await receive(topic, {}, "b")).body.messages;
		expect(fromB).toMatchObject({ id: "m", attempt: 1 });
		expect(await counts(topic, "b")).toEqual({ scheduled: 0, in_flight: 1, delivered: 0, dead: 0 });
		expect((await ack(topic, [fromA.receipt], "a")).body.results).toEqual({ [fromA.receipt]: true });
		expect(await counts(topic, "a")).toEqual({ scheduled: 0, in_flight: 0, delivered: 1, dead: 0 });
		expect(await counts(topic, "b")).toEqual({ scheduled: 0, in_flight: 1, delivered: 0, dead: 0 });
	});
});

describe("nack, extend, ack", () => {
	it("nack with a delay schedules at now + delay and counts the attempt", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { retry: { backoff: "fixed", base: "1h" } });
		await publish(topic, { id: "m", body: 1 });
		const [first] = (await receive(topic)).body.messages;
		const receipt = first?.receipt as string;
		const before = Date.now();
		expect((await nack(topic, [receipt], "10s")).body.results).toEqual({ [receipt]: true });
		const after = Date.now();
		const row = await delivery(topic, "m");
		expect(row).toMatchObject({ state: "scheduled", attempts: 1 });
		expect(row.next_at_ms).toBeGreaterThanOrEqual(before + 10_000);
		expect(row.next_at_ms).toBeLessThanOrEqual(after + 10_000);
		expect((await nack(topic, [receipt], "10s")).body.results).toEqual({ [receipt]: false });
		expect((await receive(topic)).body.messages).toEqual([]);
		await makeDueNow(topic, "m");
		const [second] = (await receive(topic)).body.messages;
		expect(second).toMatchObject({ id: "m", attempt: 2 });
		expect(second?.receipt).not.toBe(receipt);
	});

	it("nack without a delay waits the subscription's backoff", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { retry: { backoff: "fixed", base: "7s" } });
		await publish(topic, { id: "m", body: 1 });
		const [first] = (await receive(topic)).body.messages;
		const receipt = first?.receipt as string;
		const before = Date.now();
		expect((await nack(topic, [receipt])).body.results).toEqual({ [receipt]: true });
		const after = Date.now();
		const row = await delivery(topic, "m");
		expect(row).toMatchObject({ state: "scheduled", attempts: 1 });
		expect(row.next_at_ms).toBeGreaterThanOrEqual(before + 7000);
		expect(row.next_at_ms).toBeLessThanOrEqual(after + 7000);
	});

	it("nack at max_attempts makes the delivery dead", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { retry: { max_attempts: 1 } });
		await publish(topic, { id: "m", body: 1 });
		const [first] = (await receive(topic)).body.messages;
		const receipt = first?.receipt as string;
		expect((await nack(topic, [receipt], "0s")).body.results).toEqual({ [receipt]: true });
		expect(await delivery(topic, "m")).toMatchObject({ state: "dead", attempts: 1, next_at_ms: null });
		expect(await counts(topic)).toEqual({ scheduled: 0, in_flight: 0, delivered: 0, dead: 1 });
		expect((await receive(topic)).body.messages).toEqual([]);
		const dead = await json<{ dead: { message_id: string }[] }>("GET", `/v1/topics/${topic}/subscriptions/p/dead`);
		expect(dead.body.dead.map((d) => d.message_id)).toEqual(["m"]);
	});

	it("extend moves the lease end to now + visibility_timeout and the receipt still acks", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { visibility_timeout: "5s" });
		await publish(topic, { id: "m", body: 1 });
		await runAlarm(topic);
		const [first] = (await receive(topic)).body.messages;
		const receipt = first?.receipt as string;
		const before = Date.now();
		const longer = await extend(topic, receipt, "2h");
		const after = Date.now();
		expect(longer).toMatchObject({ status: 200, body: { receipt, extended: true } });
		const row = await delivery(topic, "m");
		expect(row).toMatchObject({ state: "in_flight", attempts: 1, lease: 1 });
		expect(row.next_at_ms).toBeGreaterThanOrEqual(before + 7_200_000);
		expect(row.next_at_ms).toBeLessThanOrEqual(after + 7_200_000);
		expect(Date.parse(longer.body.lease_expires_at as string)).toBe(row.next_at_ms);

		// A shorter lease is honoured too: the object must wake up when it ends.
		const shorter = await extend(topic, receipt, "3s");
		expect(shorter.body.extended).toBe(true);
		const shortRow = await delivery(topic, "m");
		expect(Date.parse(shorter.body.lease_expires_at as string)).toBe(shortRow.next_at_ms);
		const alarm = await alarmAt(topic);
		expect(alarm).not.toBeNull();
		expect(alarm).toBeLessThanOrEqual(shortRow.next_at_ms as number);

		expect((await ack(topic, [receipt])).body.results).toEqual({ [receipt]: true });
		expect(await extend(topic, receipt, "1h")).toMatchObject({
			status: 200,
			body: { extended: false, lease_expires_at: null },
		});
	});

	it("acks a receipt once; counts follow every step", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { retry: { max_attempts: 1 } });
		await publishBatch(topic, [
			{ id: "a", body: 1 },
			{ id: "b", body: 2 },
			{ id: "c", body: 3 },
			{ id: "d", body: 4 },
			{ id: "e", body: 5, delay: "1h" },
		]);
		expect(await counts(topic)).toEqual({ scheduled: 5, in_flight: 0, delivered: 0, dead: 0 });
		const got = (await receive(topic, { max: 10 })).body.messages;
		expect(got.map((m) => m.id)).toEqual(["a", "b", "c", "d"]);
		const [a, b, c] = got.map((m) => m.receipt) as [string, string, string, string];
		expect(await counts(topic)).toEqual({ scheduled: 1, in_flight: 4, delivered: 0, dead: 0 });
		expect((await ack(topic, [a])).body.results).toEqual({ [a]: true });
		expect((await ack(topic, [a])).body.results).toEqual({ [a]: false });
		// The same receipt twice in one call: it was acked, once.
		expect((await ack(topic, [b, b])).body.results).toEqual({ [b]: true });
		expect(await counts(topic)).toEqual({ scheduled: 1, in_flight: 2, delivered: 2, dead: 0 });
		expect((await nack(topic, [c])).body.results).toEqual({ [c]: true });
		expect(await counts(topic)).toEqual({ scheduled: 1, in_flight: 1, delivered: 2, dead: 1 });
		expect(await delivery(topic, "d")).toMatchObject({ state: "in_flight" });
	});
});
