import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { json, uniqueName } from "../helpers";
import { delivery, publish, publishBatch, pullStub, pullTopic, receive, runAlarm, sleep } from "../pull";

/** Counts the alarm runs of the topic's object from now on (the platform calls `instance.alarm`). */
async function countAlarms(topic: string): Promise<() => Promise<number>> {
	await runInDurableObject(pullStub(topic), (instance) => {
		const target = instance as unknown as { alarm: () => Promise<void>; alarmRuns?: number };
		const original = Object.getPrototypeOf(target).alarm as () => Promise<void>;
		target.alarmRuns = 0;
		target.alarm = function (this: typeof target) {
			target.alarmRuns = (target.alarmRuns ?? 0) + 1;
			return original.call(this);
		};
	});
	return () =>
		runInDurableObject(pullStub(topic), (instance) => (instance as unknown as { alarmRuns: number }).alarmRuns);
}

describe("long poll", () => {
	it("returns as soon as a publish makes something due", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic);
		const started = Date.now();
		const poll = receive(topic, { wait: "10s" });
		await sleep(100);
		const published = await publish(topic, { id: "soon", body: 1, delay: "200ms" });
		const got = await poll;
		const elapsed = Date.now() - started;
		expect(got.status).toBe(200);
		expect(got.body.messages).toMatchObject([{ id: "soon", attempt: 1 }]);
		expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(published.body.deliver_at));
		expect(elapsed).toBeLessThan(1000);

		// Due at once: the publish itself hands it over.
		const again = Date.now();
		const poll2 = receive(topic, { wait: "10s" });
		await sleep(100);
		await publish(topic, { id: "now", body: 2 });
		expect((await poll2).body.messages.map((m) => m.id)).toEqual(["now"]);
		expect(Date.now() - again).toBeLessThan(1000);
		expect(await delivery(topic, "now")).toMatchObject({ state: "in_flight", attempts: 1 });
	});

	it("answers an empty list once `wait` has passed with nothing due", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic);
		await publish(topic, { id: "later", body: 1, delay: "1h" });
		const started = Date.now();
		const got = await receive(topic, { wait: "300ms" });
		const elapsed = Date.now() - started;
		expect(got).toEqual({ status: 200, body: { messages: [] } });
		expect(elapsed).toBeGreaterThanOrEqual(300);
		expect(elapsed).toBeLessThan(1500);
		expect(await delivery(topic, "later")).toMatchObject({ state: "scheduled", attempts: 0 });
	});

	it("is woken by the alarm for a message published before it with a short delay", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic);
		const published = await publish(topic, { id: "delayed", body: 1, delay: "400ms" });
		const started = Date.now();
		const got = await receive(topic, { wait: "10s" });
		expect(got.body.messages).toMatchObject([{ id: "delayed", attempt: 1 }]);
		expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(published.body.deliver_at));
		expect(Date.now() - started).toBeLessThan(1500);
	});

	it("hands each of several waiters distinct messages", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic);
		const polls = Array.from({ length: 3 }, () => receive(topic, { max: 1, wait: "10s" }));
		const extra = receive(topic, { max: 1, wait: "1s" });
		await sleep(150);
		await publishBatch(topic, [
			{ id: "w1", body: 1 },
			{ id: "w2", body: 2 },
			{ id: "w3", body: 3 },
		]);
		const results = await Promise.all([...polls, extra]);
		const ids = results.flatMap((r) => r.body.messages.map((m) => m.id));
		expect(ids.sort()).toEqual(["w1", "w2", "w3"]);
		expect(results.every((r) => r.body.messages.length <= 1)).toBe(true);
	});

	it("brings an expired lease back to a waiting receive with attempt 2", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic, { visibility_timeout: "1s", retry: { backoff: "fixed", base: "0s" } });
		await publish(topic, { id: "m", body: 1 });
		await runAlarm(topic); // spend the publish's alarm: only the lease can wake the object now
		const [first] = (await receive(topic)).body.messages;
		expect(first?.attempt).toBe(1);
		const started = Date.now();
		const got = await receive(topic, { wait: "10s" });
		expect(got.body.messages).toMatchObject([{ id: "m", attempt: 2 }]);
		expect(got.body.messages[0]?.receipt).not.toBe(first?.receipt);
		expect(Date.now() - started).toBeLessThan(3000);
	});
});

describe("paused and abandoned receives", () => {
	it("returns nothing from a paused pull subscription, without spinning the alarm, until it is resumed", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic, { paused: true });
		await publish(topic, { id: "m", body: 1 });
		expect((await receive(topic)).body.messages).toEqual([]);
		await sleep(50); // let the publish's alarm pass
		const alarmRuns = await countAlarms(topic);
		const started = Date.now();
		expect((await receive(topic, { wait: "500ms" })).body.messages).toEqual([]);
		expect(Date.now() - started).toBeGreaterThanOrEqual(500);
		// A due message of a paused subscription is no reason to wake the object again and again.
		expect(await alarmRuns()).toBeLessThanOrEqual(2);
		expect(await delivery(topic, "m")).toMatchObject({ state: "scheduled", attempts: 0 });

		// Resuming hands it to a waiting receive.
		const poll = receive(topic, { wait: "10s" });
		await sleep(100);
		const resumed = await json("PUT", `/v1/topics/${topic}/subscriptions/p`, { type: "pull", paused: false });
		expect(resumed.status).toBe(200);
		expect((await poll).body.messages).toMatchObject([{ id: "m", attempt: 1 }]);
	});

	it("abandonReceive ends a waiting receive at once with nothing leased", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic);
		const stub = pullStub(topic);
		const started = Date.now();
		const pending = stub.receive({ partitions: 1 }, "p", 10, 10_000, null, "wait-1");
		await sleep(100);
		expect(await stub.abandonReceive("wait-1")).toBe(true);
		const result = await pending;
		expect(result).toEqual({ ok: true, value: { messages: [] } });
		expect(Date.now() - started).toBeLessThan(1000);
		expect(await stub.abandonReceive("wait-1")).toBe(false);

		// The abandoned waiter takes nothing that is published afterwards.
		await publish(topic, { id: "m", body: 1 });
		await sleep(100);
		expect(await delivery(topic, "m")).toMatchObject({ state: "scheduled", attempts: 0, lease: 0 });
		expect((await receive(topic)).body.messages).toMatchObject([{ id: "m", attempt: 1 }]);
	});

	it("a receive whose wait was abandoned before it arrived does not wait", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic);
		const stub = pullStub(topic);
		expect(await stub.abandonReceive("early")).toBe(false);
		const started = Date.now();
		expect(await stub.receive({ partitions: 1 }, "p", 10, 10_000, null, "early")).toEqual({
			ok: true,
			value: { messages: [] },
		});
		expect(Date.now() - started).toBeLessThan(1000);
	});

	it("abandonReceive leaves other waiters alone", async () => {
		const topic = uniqueName("lp");
		await pullTopic(topic);
		const stub = pullStub(topic);
		const gone = stub.receive({ partitions: 1 }, "p", 10, 10_000, null, "gone");
		const kept = stub.receive({ partitions: 1 }, "p", 10, 10_000, null, "kept");
		await sleep(100);
		expect(await stub.abandonReceive("gone")).toBe(true);
		expect(await gone).toEqual({ ok: true, value: { messages: [] } });
		await publish(topic, { id: "m", body: 1 });
		const result = await kept;
		expect(result.ok && result.value.messages.map((m) => m.id)).toEqual(["m"]);
	});
});
