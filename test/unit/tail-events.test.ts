import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import { behave, json, receiverUrl, uniqueName } from "../helpers";
import { partitionedTopic, publishBatch } from "../partitions";
import { openTail, type TailEvent } from "../tail";

const COMMON = ["type", "topic", "partition", "subscription", "message_id", "attempt", "at"];
/** The fields of each event type beyond the common ones (docs/API.md "Live tail"). */
const FIELDS: Record<string, string[]> = {
	published: ["deliver_at", "key"],
	attempt_started: ["due_at", "lateness_ms"],
	attempt_ended: ["outcome", "status", "error", "due_at", "started_at", "lateness_ms", "duration_ms"],
	delivered: ["status"],
	retry_scheduled: ["next_attempt_at", "status", "error"],
	dead: ["status", "error"],
};

const ofMessage = (events: TailEvent[], id: string) => events.filter((e) => e.message_id === id);

describe("the live tail of a 4-partition topic", () => {
	it("sees every message published, attempted and delivered, in order per message, from its own partition", async () => {
		const topic = uniqueName("tailflow");
		await partitionedTopic(topic, 4, { type: "webhook", url: `${receiverUrl()}/tail/${topic}` });
		const tail = await openTail(topic);
		const ids = Array.from({ length: 12 }, (_, i) => `m-${i}`);
		expect(new Set(ids.map((id) => partitionOf(id, 4))).size).toBe(4);
		await publishBatch(
			topic,
			ids.map((id, i) => ({ id, body: { secret: "body-never-in-events" }, delay: 0.05 * (i % 3) })),
		);
		const events = await tail.until((all) => ids.every((id) => ofMessage(all, id).some((e) => e.type === "delivered")));
		for (const id of ids) {
			const mine = ofMessage(events, id);
			expect(
				mine.map((e) => e.type),
				id,
			).toEqual(["published", "attempt_started", "attempt_ended", "delivered"]);
			for (const e of mine) {
				expect(e.topic).toBe(topic);
				expect(e.partition).toBe(partitionOf(id, 4));
				expect(Object.keys(e).sort()).toEqual([...COMMON, ...(FIELDS[e.type] ?? [])].sort());
			}
			const [published, started, ended, delivered] = mine;
			expect(published).toMatchObject({ subscription: null, attempt: null, key: null });
			expect(started).toMatchObject({ subscription: "hook", attempt: 1, due_at: published?.deliver_at });
			expect(started?.lateness_ms).toBeGreaterThanOrEqual(0);
			expect(started?.lateness_ms).toBe(Date.parse(started?.at as string) - Date.parse(started?.due_at as string));
			expect(ended).toMatchObject({ outcome: "delivered", status: 200, error: null, started_at: started?.at });
			expect(ended?.lateness_ms).toBe(started?.lateness_ms);
			expect(ended?.duration_ms).toBeGreaterThanOrEqual(0);
			expect(delivered).toMatchObject({ subscription: "hook", attempt: 1, status: 200 });
		}
		expect(JSON.stringify(events)).not.toContain("body-never-in-events");
		tail.close();
	});

	it("reports a failing attempt, its retry and the delivery going dead", async () => {
		const topic = uniqueName("taildead");
		const path = `/tail/${topic}`;
		await behave(path, { status: 503 });
		await partitionedTopic(topic, 4, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			retry: { max_attempts: 2, backoff: "fixed", base: "100ms" },
		});
		const tail = await openTail(topic);
		await json("POST", `/v1/topics/${topic}/messages`, { id: "doomed", body: 1 });
		const events = await tail.until((all) => all.some((e) => e.type === "dead"));
		const mine = ofMessage(events, "doomed");
		expect(mine.map((e) => [e.type, e.attempt])).toEqual([
			["published", null],
			["attempt_started", 1],
			["attempt_ended", 1],
			["retry_scheduled", 1],
			["attempt_started", 2],
			["attempt_ended", 2],
			["dead", 2],
		]);
		expect(mine[2]).toMatchObject({ outcome: "retry", status: 503, error: "HTTP 503" });
		expect(mine[3]).toMatchObject({ status: 503, error: "HTTP 503" });
		// The second attempt is due when the retry said, and started no earlier.
		expect(mine[4]?.due_at).toBe(mine[3]?.next_attempt_at);
		expect(mine[4]?.lateness_ms).toBeGreaterThanOrEqual(0);
		expect(mine[5]).toMatchObject({ outcome: "dead", status: 503 });
		expect(mine[6]).toMatchObject({ subscription: "hook", status: 503, error: "HTTP 503" });
		tail.close();
	});

	it("gives each client what its filter asks for", async () => {
		const topic = uniqueName("tailfilter");
		await partitionedTopic(topic, 4, { type: "webhook", url: `${receiverUrl()}/tail/${topic}/a` });
		await json("PUT", `/v1/topics/${topic}/subscriptions/other`, {
			type: "webhook",
			url: `${receiverUrl()}/tail/${topic}/b`,
		});
		const all = await openTail(topic);
		const hookOnly = await openTail(topic, "?subscription=hook");
		const deliveredOnly = await openTail(topic, "?types=delivered");
		await publishBatch(
			topic,
			["f-1", "f-2", "f-3"].map((id) => ({ id, body: 1 })),
		);
		const done = (events: TailEvent[]) => events.filter((e) => e.type === "delivered").length === 6;
		await all.until(done);
		await deliveredOnly.until(done);
		await hookOnly.until((events) => events.filter((e) => e.type === "delivered").length === 3);
		const types = (c: { events: TailEvent[] }) => new Set(c.events.map((e) => e.type));
		expect(types(deliveredOnly)).toEqual(new Set(["ready", "delivered"]));
		// A subscription filter passes `published` (a message is for every subscription) and that subscription's events.
		expect(new Set(hookOnly.events.map((e) => e.subscription))).toEqual(new Set([null, "hook"]));
		expect(hookOnly.events.filter((e) => e.type === "published")).toHaveLength(3);
		expect(all.events.filter((e) => e.subscription === "other")).toHaveLength(9);
		for (const c of [all, hookOnly, deliveredOnly]) c.close();
	});

	it("tells its clients when the topic is deleted, then closes them", async () => {
		const topic = uniqueName("taildel");
		await partitionedTopic(topic, 2);
		const tail = await openTail(topic);
		expect((await json("DELETE", `/v1/topics/${topic}`)).status).toBe(200);
		expect(await tail.closed).toBe(4404);
		expect(tail.events.filter((e) => e.type === "topic_deleted").length).toBeGreaterThanOrEqual(1);
	});
});

describe("the live tail of pull consumers", () => {
	it("sees a lease start an attempt, an ack deliver it, and a nack schedule it again or make it dead", async () => {
		const topic = uniqueName("tailpull");
		await partitionedTopic(topic, 4, { type: "pull", retry: { max_attempts: 2, backoff: "fixed", base: "1s" } });
		const tail = await openTail(topic);
		await publishBatch(topic, [
			{ id: "acked", body: 1 },
			{ id: "nacked", body: 2 },
		]);
		const base = `/v1/topics/${topic}/subscriptions/hook`;
		const take = async () =>
			(await json<{ messages: { id: string; receipt: string }[] }>("POST", `${base}/receive`, { max: 10 })).body
				.messages;
		const first = await take();
		expect(first.map((m) => m.id).sort()).toEqual(["acked", "nacked"]);
		const receipt = (id: string) => first.find((m) => m.id === id)?.receipt as string;
		await json("POST", `${base}/ack`, { receipts: [receipt("acked")] });
		await json("POST", `${base}/nack`, { receipts: [receipt("nacked")], delay: 0 });
		const [again] = await take();
		await json("POST", `${base}/nack`, { receipts: [again?.receipt] });
		const events = await tail.until((all) => all.some((e) => e.type === "dead"));
		expect(ofMessage(events, "acked").map((e) => e.type)).toEqual(["published", "attempt_started", "delivered"]);
		const nacked = ofMessage(events, "nacked");
		expect(nacked.map((e) => [e.type, e.attempt])).toEqual([
			["published", null],
			["attempt_started", 1],
			["retry_scheduled", 1],
			["attempt_started", 2],
			["dead", 2],
		]);
		expect(nacked[1]?.lateness_ms).toBeGreaterThanOrEqual(0);
		expect(nacked[2]).toMatchObject({ subscription: "hook", status: null, error: "nacked" });
		expect(nacked[4]).toMatchObject({ error: "nacked" });
		expect(JSON.stringify(events)).not.toContain(receipt("acked"));
		tail.close();
	});
});
