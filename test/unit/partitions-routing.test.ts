import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fnv1a32, partitionOf } from "../../src/topic/client/routing";
import { api, json, uniqueName } from "../helpers";
import { idsByPartition, partitionedTopic, partitionSql, partitionStub, publishBatch } from "../partitions";

describe("the partition rule", () => {
	it("is 32-bit FNV-1a over the UTF-8 bytes of the id", () => {
		// Published FNV-1a test vectors.
		expect(fnv1a32("")).toBe(0x811c9dc5);
		expect(fnv1a32("a")).toBe(0xe40c292c);
		expect(fnv1a32("foobar")).toBe(0xbf9cf968);
		// UTF-8, not UTF-16: "é" is the two bytes c3 a9.
		expect(fnv1a32("é")).toBe(Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0);
		expect(partitionOf("anything", 1)).toBe(0);
		expect(partitionOf("order-42", 4)).toBe(fnv1a32("order-42") % 4);
	});

	it("stores every message, chosen or generated id, in the partition its id names", async () => {
		const topic = uniqueName("proute");
		await partitionedTopic(topic, 8);
		const chosen = Array.from({ length: 100 }, (_, i) => ({ id: `order-${i}`, body: i, delay: "1h" }));
		const generated = Array.from({ length: 100 }, (_, i) => ({ body: i, delay: "1h" }));
		const results = (await publishBatch(topic, [...chosen, ...generated])) as { id: string }[];
		const ids = results.map((r) => r.id);
		expect(new Set(ids).size).toBe(200);
		const stored = await idsByPartition(topic, 8);
		for (let p = 0; p < 8; p++) {
			expect(stored[p]).toEqual(ids.filter((id) => partitionOf(id, 8) === p).sort());
			// 200 ids over 8 partitions: every partition gets some.
			expect(stored[p]?.length).toBeGreaterThan(5);
		}
		// One HTTP publish of one message goes to its partition too.
		const single = await json<{ id: string }>("POST", `/v1/topics/${topic}/messages`, { id: "single", body: 1 });
		expect(single.status).toBe(201);
		const [row] = await partitionSql(topic, partitionOf("single", 8), "SELECT id FROM messages WHERE id = 'single'");
		expect(row).toEqual({ id: "single" });
	});

	it("get, cancel, deliver now and reschedule by id reach the message in its partition", async () => {
		const topic = uniqueName("psteer");
		await partitionedTopic(topic, 5);
		const ids = Array.from({ length: 20 }, (_, i) => `s-${i}`);
		await publishBatch(
			topic,
			ids.map((id) => ({ id, body: id, delay: "1h" })),
		);
		for (const id of ids) {
			const got = await json("GET", `/v1/topics/${topic}/messages/${id}`);
			expect(got.status).toBe(200);
			expect(got.body).toMatchObject({ id, body: id });
		}
		expect((await json("DELETE", `/v1/topics/${topic}/messages/s-1`)).body).toEqual({ id: "s-1", cancelled: 1 });
		expect((await json("POST", `/v1/topics/${topic}/messages/s-2/reschedule`, { delay: "2h" })).body).toMatchObject({
			id: "s-2",
			scheduled: 1,
		});
		const moved = await partitionSql<{ deliver_at_ms: number }>(
			topic,
			partitionOf("s-2", 5),
			"SELECT deliver_at_ms FROM messages WHERE id = 's-2'",
		);
		expect(moved[0]?.deliver_at_ms).toBeGreaterThan(Date.now() + 3_600_000);
		expect((await json("POST", `/v1/topics/${topic}/messages/s-3/deliver`)).body).toEqual({ id: "s-3", scheduled: 1 });
		expect((await api("GET", `/v1/topics/${topic}/messages/nope`)).status).toBe(404);
	});

	it("detects a repeated id in the batch and on a later publish, whatever the partition", async () => {
		const topic = uniqueName("pdup");
		await partitionedTopic(topic, 4);
		const items = Array.from({ length: 40 }, (_, i) => ({ id: `dup-${i}`, body: i, deliver_at: 1796115600 }));
		const first = await publishBatch(topic, [...items, items[7] as Record<string, unknown>]);
		expect(first.slice(0, 40).every((r) => !("duplicate" in r))).toBe(true);
		expect(first[40]).toEqual({ id: "dup-7", deliver_at: "2026-12-01T09:00:00.000Z", duplicate: true });
		const again = await publishBatch(
			topic,
			items.map((m) => ({ ...m, deliver_at: 1796119200 })),
		);
		expect(again.every((r) => r.duplicate === true && r.deliver_at === "2026-12-01T09:00:00.000Z")).toBe(true);
		expect((await json("GET", `/v1/topics/${topic}`)).body).toMatchObject({ messages: 40 });
	});
});

describe("batch publish when a partition fails", () => {
	it("answers the failing partition's items with its error, stores the others, and a retry stores each once", async () => {
		const topic = uniqueName("ppart");
		await partitionedTopic(topic, 4);
		// Partition 2 lost its subscription (a subscription change that failed part-way): it refuses.
		expect(await partitionStub(topic, 2).deleteSubscription({ partitions: 4 }, "hook")).toMatchObject({ ok: true });
		const items = Array.from({ length: 60 }, (_, i) => ({ id: `b-${i}`, body: i, delay: "1h" }));
		const results = await publishBatch(topic, items);
		items.forEach((item, i) => {
			if (partitionOf(item.id, 4) === 2) {
				expect(results[i]).toMatchObject({ id: item.id, error: { code: "no_subscriptions" } });
			} else {
				expect(results[i]).toEqual({ id: item.id, deliver_at: expect.any(String) });
			}
		});
		const failed = items.filter((m) => partitionOf(m.id, 4) === 2);
		expect(failed.length).toBeGreaterThan(0);
		expect(await partitionSql(topic, 2, "SELECT id FROM messages")).toEqual([]);

		// The subscription PUT repeated converges; the same batch again stores the failed items once.
		expect((await api("PUT", `/v1/topics/${topic}/subscriptions/hook`, { type: "pull" })).status).toBe(200);
		const retried = await publishBatch(topic, items);
		items.forEach((item, i) => {
			const wasStored = partitionOf(item.id, 4) !== 2;
			expect(retried[i]).toEqual(
				wasStored
					? { id: item.id, deliver_at: expect.any(String), duplicate: true }
					: { id: item.id, deliver_at: expect.any(String) },
			);
		});
		expect((await json("GET", `/v1/topics/${topic}`)).body).toMatchObject({ messages: 60 });
	});

	it("answers one error for the whole batch when every partition gives it", async () => {
		const topic = uniqueName("pall");
		await json("PUT", `/v1/topics/${topic}`, { partitions: 4 });
		const res = await json<{ error: { code: string } }>(
			"POST",
			`/v1/topics/${topic}/messages/batch`,
			Array.from({ length: 20 }, (_, i) => ({ id: `x-${i}`, body: i })),
		);
		expect(res.status).toBe(409);
		expect(res.body.error.code).toBe("no_subscriptions");
		const unknown = await json<{ error: { code: string } }>("POST", `/v1/topics/${uniqueName("none")}/messages/batch`, [
			{ body: 1 },
		]);
		expect(unknown.status).toBe(404);
	});

	it("answers partition_unavailable for the items of a partition that cannot start", async () => {
		const topic = uniqueName("pdown");
		await partitionedTopic(topic, 3);
		// Storage from a future schema version: the object's constructor refuses to start.
		await partitionSql(topic, 1, "UPDATE meta SET value = '999' WHERE key = 'schema_version'");
		await runInDurableObject(partitionStub(topic, 1), (_i, state) => state.abort("reset")).catch(() => undefined);
		const items = Array.from({ length: 30 }, (_, i) => ({ id: `u-${i}`, body: i, delay: "1h" }));
		const results = await publishBatch(topic, items);
		items.forEach((item, i) => {
			if (partitionOf(item.id, 3) === 1)
				expect(results[i]).toMatchObject({ id: item.id, error: { code: "partition_unavailable" } });
			else expect(results[i]).toEqual({ id: item.id, deliver_at: expect.any(String) });
		});
		// A single publish to it is a 503 with the same code, never a 500.
		const id = items.find((m) => partitionOf(m.id, 3) === 1)?.id as string;
		const single = await json<{ error: { code: string } }>("POST", `/v1/topics/${topic}/messages`, { id, body: 1 });
		expect(single.status).toBe(503);
		expect(single.body.error.code).toBe("partition_unavailable");
	});
});
