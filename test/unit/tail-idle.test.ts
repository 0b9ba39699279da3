import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unwrap } from "../../src/errors";
import type { TailLease, TailRecord } from "../../src/topic/tail-events";
import { TAIL_BUFFER_MAX, TailFeed } from "../../src/topic/tail-feed";
import { json, uniqueName } from "../helpers";
import { partitionedTopic, partitionStub, publishBatch } from "../partitions";
import { eventually, feedOf, openTail } from "../tail";

const PARTITIONS = 4;
const feeds = (topic: string) => Promise.all(Array.from({ length: PARTITIONS }, (_, p) => feedOf(topic, p)));

/** Publishes `n` messages due now and waits until the topic counts them delivered. */
async function deliver(topic: string, prefix: string, n: number, alreadyDelivered = 0) {
	await publishBatch(
		topic,
		Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, body: i })),
	);
	await eventually(
		async () => (await json<{ counts: { delivered: number } }>("GET", `/v1/topics/${topic}`)).body.counts.delivered,
		(delivered) => delivered === alreadyDelivered + n,
	);
}

describe("the live tail when nobody listens", () => {
	it("forwards nothing from a topic never tailed", async () => {
		const topic = uniqueName("tailnone");
		await partitionedTopic(topic, PARTITIONS);
		await deliver(topic, "n", 20);
		for (const f of await feeds(topic)) {
			expect(f).toEqual({
				lease: { untilMs: 0, version: 0 },
				stats: { batches: 0, events: 0, dropped: 0 },
				listening: false,
			});
		}
	});

	it("stops forwarding when the last client leaves", async () => {
		const topic = uniqueName("tailleft");
		await partitionedTopic(topic, PARTITIONS);
		const first = await openTail(topic);
		const second = await openTail(topic);
		await deliver(topic, "a", 8);
		await first.until((e) => e.filter((x) => x.type === "delivered").length === 8);
		const during = await feeds(topic);
		expect(during.every((f) => f.listening)).toBe(true);
		expect(during.reduce((n, f) => n + f.stats.batches, 0)).toBeGreaterThan(0);

		// One client left: the others keep the lease.
		first.close();
		await first.closed;
		expect((await feeds(topic)).every((f) => f.listening)).toBe(true);
		second.close();
		await second.closed;
		const after = await eventually(
			() => feeds(topic),
			(fs) => fs.every((f) => !f.listening),
		);
		expect(after.every((f) => f.lease.untilMs === 0 && f.lease.version > 0)).toBe(true);

		await deliver(topic, "b", 20, 8);
		expect((await feeds(topic)).map((f) => f.stats)).toEqual(after.map((f) => f.stats));
	});

	it("stops a partition whose lease outlived its hub's clients at its first batch", async () => {
		const topic = uniqueName("tailstale");
		await partitionedTopic(topic, 1);
		const stale: TailLease = { untilMs: Date.now() + 3_600_000, version: Date.now() - 1000 };
		unwrap(await partitionStub(topic, 0).tailListen({ partitions: 1 }, stale));
		// The lease is kept in the object's storage: a restarted object still knows it.
		const kept = await runInDurableObject(partitionStub(topic, 0), (_i, state) => state.storage.kv.get("tail.lease"));
		expect(kept).toEqual(stale);
		await deliver(topic, "s", 1);
		const f = await eventually(
			() => feedOf(topic, 0),
			(x) => !x.listening,
		);
		// The hub (no client) answered the first batch with "no listeners".
		expect(f.stats.batches).toBe(1);
		expect(f.lease.untilMs).toBe(0);
		expect(f.lease.version).toBeGreaterThan(stale.version);
	});
});

describe("TailFeed under overload", () => {
	const published = (n: number): TailRecord => ({
		type: "published",
		atMs: n,
		messageId: `m${n}`,
		deliverAtMs: n,
		key: null,
	});

	it("sends one batch at a time, counts what overflows as dropped and says so in the next batch", async () => {
		await runInDurableObject(env.TAIL_HUB.getByName(uniqueName("feed")), async (_i, state) => {
			const sent: TailRecord[][] = [];
			let answer: (lease: TailLease) => void = () => {};
			const lease = { untilMs: Date.now() + 60_000, version: 1 };
			const feed = new TailFeed(
				state.storage.kv,
				(events) => {
					sent.push(events);
					return new Promise((resolve) => (answer = resolve));
				},
				() => "hook",
			);
			expect(feed.listening()).toBe(false);
			feed.emit(published(0));
			feed.flush();
			expect(sent).toEqual([]); // nobody listens: nothing sent
			feed.listen(lease);
			feed.emit(published(1));
			feed.flush();
			expect(sent).toHaveLength(1);
			for (let i = 0; i < TAIL_BUFFER_MAX + 5; i++) feed.emit(published(100 + i));
			feed.flush(); // the first batch is still on its way: nothing more goes
			expect(sent).toHaveLength(1);
			expect(feed.stats.dropped).toBe(5);
			answer(lease);
			await eventually(
				async () => sent.length,
				(n) => n === 2,
			);
			const second = sent[1] as TailRecord[];
			expect(second).toHaveLength(TAIL_BUFFER_MAX + 1);
			expect(second.at(-1)).toMatchObject({ type: "dropped", count: 5 });
			expect(second[0]).toMatchObject({ messageId: "m100" });
			// The hub says nobody listens any more: what is buffered is let go.
			feed.emit(published(2));
			answer({ untilMs: 0, version: 2 });
			await eventually(
				async () => feed.listening(),
				(l) => !l,
			);
			feed.flush();
			expect(sent).toHaveLength(2);
			expect(feed.stats.batches).toBe(2);
		});
	});

	it("counts a failed send as dropped and never throws into its caller", async () => {
		await runInDurableObject(env.TAIL_HUB.getByName(uniqueName("feedfail")), async (_i, state) => {
			let calls = 0;
			const feed = new TailFeed(
				state.storage.kv,
				() => {
					calls++;
					return Promise.reject(new Error("hub unreachable"));
				},
				() => "hook",
			);
			feed.listen({ untilMs: Date.now() + 60_000, version: 1 });
			feed.emit(published(1));
			feed.emit(published(2));
			feed.flush();
			await eventually(
				async () => feed.stats.dropped,
				(d) => d === 2,
			);
			// Right after a failure the feed waits before it tries again.
			feed.emit(published(3));
			feed.flush();
			expect(calls).toBe(1);
			expect(feed.listening()).toBe(true);
		});
	});
});
