import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import { api, json, uniqueName } from "../helpers";
import { partitionedTopic, partitionSql, partitionStub, publishBatch } from "../partitions";
import { sleep } from "../pull";

type Pulled = { id: string; receipt: string; attempt: number };

const receive = (topic: string, body: Record<string, unknown> = {}) =>
	json<{ messages: Pulled[] }>("POST", `/v1/topics/${topic}/subscriptions/hook/receive`, body);

/** Delivery states summed over every partition. */
async function states(topic: string, partitions: number): Promise<Record<string, number>> {
	const out: Record<string, number> = {};
	for (let p = 0; p < partitions; p++) {
		for (const r of await partitionSql<{ state: string; n: number }>(
			topic,
			p,
			"SELECT state, count(*) AS n FROM deliveries GROUP BY state",
		)) {
			out[r.state] = (out[r.state] ?? 0) + r.n;
		}
	}
	return out;
}

async function pullTopic(partitions: number, due: string[]): Promise<string> {
	const topic = uniqueName(`ppull${partitions}`);
	await partitionedTopic(topic, partitions, { type: "pull", visibility_timeout: "1m" });
	if (due.length > 0)
		await publishBatch(
			topic,
			due.map((id) => ({ id, body: id })),
		);
	return topic;
}

describe("receive over partitions", () => {
	it("draws from every partition (none starves) and hands out each message once", async () => {
		const ids = Array.from({ length: 60 }, (_, i) => `f-${i}`);
		const topic = await pullTopic(4, ids);
		const seenPartitions = new Set<number>();
		const got: string[] = [];
		for (let i = 0; i < 40; i++) {
			const res = await receive(topic, { max: 1 });
			expect(res.status).toBe(200);
			for (const m of res.body.messages) {
				got.push(m.id);
				seenPartitions.add(partitionOf(m.id, 4));
			}
		}
		expect(got).toHaveLength(40);
		expect(seenPartitions).toEqual(new Set([0, 1, 2, 3]));
		const rest = await receive(topic, { max: 100 });
		got.push(...rest.body.messages.map((m) => m.id));
		expect(got.sort()).toEqual([...ids].sort());
		expect((await receive(topic, { max: 100 })).body.messages).toEqual([]);
	});

	it("finds due messages that sit in one partition, also with max below the partition count", async () => {
		const all = Array.from({ length: 200 }, (_, i) => `one-${i}`);
		const inTwo = all.filter((id) => partitionOf(id, 8) === 2).slice(0, 3);
		const topic = await pullTopic(8, inTwo);
		for (let i = 0; i < 3; i++) {
			const res = await receive(topic, { max: 1 });
			expect(res.body.messages).toHaveLength(1);
		}
		expect((await receive(topic, { max: 1 })).body.messages).toEqual([]);
	});

	it("never keeps a lease it does not return: extra leases go back uncounted", async () => {
		const ids = Array.from({ length: 120 }, (_, i) => `x-${i}`);
		// Messages in two of four partitions only: the first share often misses them, the second round over-leases.
		const due = ids.filter((id) => [1, 2].includes(partitionOf(id, 4))).slice(0, 40);
		const topic = await pullTopic(4, due);
		let returned = 0;
		// Over-leasing is random (which partition a receive asks first): 13 rounds make it very likely
		// to happen here at least once; the release itself is tested deterministically below.
		for (let round = 0; round < 13; round++) {
			const res = await receive(topic, { max: 3 });
			returned += res.body.messages.length;
			expect(res.body.messages.every((m) => m.attempt === 1)).toBe(true);
			// Released leases are settled in the background: wait until only what was returned is in flight.
			const deadline = Date.now() + 5000;
			while ((await states(topic, 4)).in_flight !== returned && Date.now() < deadline) await sleep(20);
			expect(await states(topic, 4)).toMatchObject({ in_flight: returned });
		}
		expect(returned).toBe(Math.min(39, due.length));
		// A released lease counted no attempt.
		let counted = 0;
		for (let p = 0; p < 4; p++) {
			const [row] = await partitionSql<{ n: number }>(
				topic,
				p,
				"SELECT count(*) AS n FROM deliveries WHERE state = 'scheduled' AND attempts > 0",
			);
			counted += row?.n ?? 0;
		}
		expect(counted).toBe(0);
	});

	it("a long poll answers as soon as any partition has something due", async () => {
		const topic = await pullTopic(6, []);
		const started = Date.now();
		const poll = receive(topic, { max: 5, wait: "10s" });
		await sleep(300);
		const id = Array.from({ length: 50 }, (_, i) => `lp-${i}`).find((x) => partitionOf(x, 6) === 4) as string;
		expect((await api("POST", `/v1/topics/${topic}/messages`, { id, body: 1 })).status).toBe(201);
		const res = await poll;
		expect(res.body.messages.map((m) => m.id)).toEqual([id]);
		expect(Date.now() - started).toBeLessThan(3000);
	});

	it("a long poll that ends empty leaves no waiter behind in any partition", async () => {
		const topic = await pullTopic(3, []);
		expect((await receive(topic, { wait: "500ms" })).body.messages).toEqual([]);
		await publishBatch(
			topic,
			["a", "b", "c", "d", "e", "f"].map((id) => ({ id, body: id })),
		);
		await sleep(200);
		expect(await states(topic, 3)).toEqual({ scheduled: 6 });
	});
});

describe("a partition that fails during a receive", () => {
	it("does not cost the others their messages or leases: every healthy partition is asked, what was leased is returned", async () => {
		const ids = Array.from({ length: 200 }, (_, i) => `pf-${i}`);
		const due = ids.filter((id) => partitionOf(id, 4) !== 3).slice(0, 30);
		const topic = await pullTopic(4, due);
		// Partition 3 cannot start (storage from a future schema version).
		await partitionSql(topic, 3, "UPDATE meta SET value = '999' WHERE key = 'schema_version'");
		await runInDurableObject(partitionStub(topic, 3), (_i, state) => state.abort("reset")).catch(() => undefined);
		// Whichever partition a receive starts at, the failing one does not end its rounds: one receive
		// gets every due message of the three others.
		const res = await receive(topic, { max: 100 });
		expect(res.status).toBe(200);
		expect(res.body.messages.map((m) => m.id).sort()).toEqual([...due].sort());
		let inFlight = 0;
		for (const p of [0, 1, 2]) {
			const [row] = await partitionSql<{ n: number }>(
				topic,
				p,
				"SELECT count(*) AS n FROM deliveries WHERE state = 'in_flight'",
			);
			inFlight += row?.n ?? 0;
		}
		expect(inFlight).toBe(due.length);
		// With nothing left but the failing partition, a receive answers its failure.
		expect((await receive(topic, { max: 100 })).status).toBe(503);
	});
});

describe("releasing extra leases", () => {
	it("gives a lease back as scheduled and due now, its attempt not counted, its receipt dead", async () => {
		const ids = Array.from({ length: 20 }, (_, i) => `r-${i}`);
		const topic = await pullTopic(2, ids);
		const route = { partitions: 2 };
		const leased = await partitionStub(topic, 1).receive(route, "hook", 2, 0, null);
		if (!leased.ok) throw new Error(JSON.stringify(leased.error));
		const [first, second] = leased.value.messages;
		expect(first?.attempt).toBe(1);
		const released = await partitionStub(topic, 1).release(route, "hook", [first?.receipt ?? "", "forged.1.x"]);
		expect(released).toEqual({ ok: true, value: { [first?.receipt ?? ""]: true, "forged.1.x": false } });
		const [row] = await partitionSql<{ state: string; attempts: number; next_at_ms: number }>(
			topic,
			1,
			"SELECT d.state, d.attempts, d.next_at_ms FROM deliveries d JOIN messages m ON m.mid = d.mid WHERE m.id = ?",
			first?.id ?? "",
		);
		expect(row).toMatchObject({ state: "scheduled", attempts: 0 });
		expect(row?.next_at_ms).toBeLessThanOrEqual(Date.now());
		// The released receipt settles nothing any more; the other lease is untouched.
		expect(await partitionStub(topic, 1).ack(route, "hook", [first?.receipt ?? "", second?.receipt ?? ""])).toEqual({
			ok: true,
			value: { [first?.receipt ?? ""]: false, [second?.receipt ?? ""]: true },
		});
		// Received again, it is attempt 1 again.
		const again = (await receive(topic, { max: 20 })).body.messages.find((m) => m.id === first?.id);
		expect(again?.attempt).toBe(1);
	});
});

describe("settling receipts over partitions", () => {
	it("ack, nack and extend reach the partition the receipt names", async () => {
		const ids = Array.from({ length: 24 }, (_, i) => `s-${i}`);
		const topic = await pullTopic(4, ids);
		const got = (await receive(topic, { max: 24 })).body.messages;
		expect(got).toHaveLength(24);
		expect(new Set(got.map((m) => partitionOf(m.id, 4))).size).toBe(4);
		const [toExtend, ...others] = got;
		const toNack = others.slice(0, 6);
		const toAck = others.slice(6);
		const acked = await json<{ results: Record<string, boolean> }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/hook/ack`,
			{
				receipts: [...toAck.map((m) => m.receipt), "garbage", "9.1.1.AAAAAAAAAAAAAAAAAAAAAA"],
			},
		);
		expect(Object.values(acked.body.results).filter(Boolean)).toHaveLength(toAck.length);
		expect(acked.body.results.garbage).toBe(false);
		expect(acked.body.results["9.1.1.AAAAAAAAAAAAAAAAAAAAAA"]).toBe(false);
		const nacked = await json<{ results: Record<string, boolean> }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/hook/nack`,
			{
				receipts: toNack.map((m) => m.receipt),
				delay: "0s",
			},
		);
		expect(Object.values(nacked.body.results).every(Boolean)).toBe(true);
		const extended = await json("POST", `/v1/topics/${topic}/subscriptions/hook/extend`, {
			receipt: toExtend?.receipt,
			visibility_timeout: "5m",
		});
		expect(extended.body).toMatchObject({ extended: true });
		expect(await states(topic, 4)).toEqual({ delivered: toAck.length, scheduled: toNack.length, in_flight: 1 });
		// A receipt moved to another partition fails its MAC there.
		const [p, ...rest] = (toExtend?.receipt ?? "").split(".");
		const moved = `${(Number.parseInt(p as string, 36) + 1) % 4}.${rest.join(".")}`;
		expect(
			(
				await json("POST", `/v1/topics/${topic}/subscriptions/hook/extend`, {
					receipt: moved,
					visibility_timeout: "5m",
				})
			).body,
		).toMatchObject({ extended: false });
		expect(
			(
				await json("POST", `/v1/topics/${topic}/subscriptions/hook/extend`, {
					receipt: "nope",
					visibility_timeout: "5m",
				})
			).body,
		).toMatchObject({ extended: false });
		expect((await api("POST", `/v1/topics/${topic}/subscriptions/other/ack`, { receipts: ["x"] })).status).toBe(404);
	});
});
