import { describe, expect, it } from "vitest";
import { behave, json, type Received, received, receiverUrl, uniqueName } from "../helpers";
import { getAlarm, waitFor, waitForReceived } from "../lifecycle";
import { partitionedTopic } from "../partitions";
import { ack, type Pulled, publish, publishBatch, pullTopic, receive, sleep } from "../pull";

/** Limits of message keys (README "Flow control", docs/API.md "Key limits"). */

type KeyView = {
	key: string;
	rate: { limit: number; period_ms: number } | null;
	parallelism: number | null;
	paused: boolean;
	waiting: number;
	in_flight: number;
	rate_count: number;
};

const keyPath = (topic: string, key: string) => `/v1/topics/${topic}/keys/${encodeURIComponent(key)}`;
const putKey = (topic: string, key: string, body: unknown) => json<KeyView>("PUT", keyPath(topic, key), body);

async function publishKeyed(topic: string, items: { key: string; i: number }[]) {
	const res = await json(
		"POST",
		`/v1/topics/${topic}/messages/batch`,
		items.map((b) => ({ key: b.key, body: b })),
	);
	if (res.status !== 200) throw new Error(JSON.stringify(res.body));
}

const bodyOf = (r: Received) => JSON.parse(r.body) as { key: string; i: number };

describe("key limits: the API", () => {
	it("sets, shows, lists (paginated over partitions) and removes a key's limits", async () => {
		const topic = uniqueName("kl");
		await partitionedTopic(topic, 3);
		const set = await putKey(topic, "customer/7", { rate: { limit: 5, period: "10s" }, parallelism: 2 });
		expect(set.status, JSON.stringify(set.body)).toBe(200);
		expect(set.body).toMatchObject({
			key: "customer/7",
			rate: { limit: 5, period_ms: 10_000 },
			parallelism: 2,
			paused: false,
			waiting: 0,
			in_flight: 0,
		});
		// A field left out keeps its value; null removes a limit.
		const paused = await putKey(topic, "customer/7", { paused: true, rate: null });
		expect(paused.body).toMatchObject({ rate: null, parallelism: 2, paused: true });
		const got = await json<KeyView>("GET", keyPath(topic, "customer/7"));
		expect(got.body).toMatchObject({ key: "customer/7", paused: true, parallelism: 2 });
		for (const k of ["a", "b", "c", "d", "e"]) expect((await putKey(topic, k, { parallelism: 1 })).status).toBe(200);
		const seen: string[] = [];
		let cursor: string | null = null;
		do {
			const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
			const page = await json<{ keys: KeyView[]; next_cursor: string | null }>(
				"GET",
				`/v1/topics/${topic}/keys?limit=2${q}`,
			);
			expect(page.status).toBe(200);
			expect(page.body.keys.length).toBeLessThanOrEqual(2);
			seen.push(...page.body.keys.map((k) => k.key));
			cursor = page.body.next_cursor;
		} while (cursor);
		expect(seen).toEqual(["a", "b", "c", "customer/7", "d", "e"]);
		expect((await json("DELETE", keyPath(topic, "c"))).status).toBe(200);
		expect((await json("GET", keyPath(topic, "c"))).status).toBe(404);
		expect((await json("DELETE", keyPath(topic, "c"))).status).toBe(404);
	});

	it("refuses bad input with 400 naming the field, and an unknown topic with 404", async () => {
		const topic = uniqueName("klbad");
		await partitionedTopic(topic, 1);
		const bad: [unknown, string][] = [
			[{ rate: { limit: 0 } }, "rate.limit"],
			[{ rate: { limit: 100_001 } }, "rate.limit"],
			[{ rate: { limit: 1, period: "8d" } }, "rate.period"],
			[{ rate: { limit: 1, period: "0s" } }, "rate.period"],
			[{ parallelism: 0 }, "parallelism"],
			[{ parallelism: 1.5 }, "parallelism"],
			[{ paused: "yes" }, "paused"],
			[{ ordering: "key" }, "ordering"],
		];
		for (const [body, field] of bad) {
			const res = await json<{ error: { code: string; details?: { path: string }[] } }>(
				"PUT",
				keyPath(topic, "k"),
				body,
			);
			expect(res.status, JSON.stringify(body)).toBe(400);
			expect(JSON.stringify(res.body), JSON.stringify(body)).toContain(field);
		}
		for (const key of ["x".repeat(257), "tab\there", "é"]) {
			const res = await putKey(topic, key, { parallelism: 1 });
			expect(res.status, key).toBe(400);
		}
		expect((await json("GET", `/v1/topics/${topic}/keys?cursor=nonsense`)).status).toBe(400);
		expect((await putKey(uniqueName("nosuch"), "k", { parallelism: 1 })).status).toBe(404);
		expect((await json("GET", keyPath(topic, "k"))).status).toBe(404);
	});
});

describe("key limits: delivery", () => {
	it("parallelism: at most that many of a key in flight, across subscriptions; other keys go on", async () => {
		const path = `/kl/par/${uniqueName("p")}`;
		await behave(path, { status: 200, delayMs: 300 });
		const topic = uniqueName("klpar");
		await partitionedTopic(topic, 2, { type: "webhook", url: `${receiverUrl()}${path}` });
		const second = await json("PUT", `/v1/topics/${topic}/subscriptions/second`, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
		});
		expect(second.status).toBe(201);
		expect((await putKey(topic, "slow", { parallelism: 2 })).status).toBe(200);
		await publishKeyed(topic, [
			...Array.from({ length: 4 }, (_, i) => ({ key: "slow", i })),
			...Array.from({ length: 4 }, (_, i) => ({ key: "free", i })),
		]);
		const got = await waitForReceived(path, 16, 15_000);
		const slow = got.filter((r) => bodyOf(r).key === "slow").map((r) => r.receivedAtMs);
		expect(slow).toHaveLength(8);
		// Each attempt takes 300 ms at the receiver: never more than 2 of the key arrive within 300 ms.
		for (const t of slow) expect(slow.filter((u) => u <= t && u > t - 295).length).toBeLessThanOrEqual(2);
		// 8 attempts, 2 at a time, 300 ms each: at least 3 rounds after the first.
		expect(Math.max(...slow) - Math.min(...slow)).toBeGreaterThanOrEqual(850);
		// The free key was not held behind it: its 8 attempts took the other slots (4 of the
		// partition's 6), two rounds, while the slow key needed four.
		const free = got.filter((r) => bodyOf(r).key === "free").map((r) => r.receivedAtMs);
		expect(Math.max(...free) - Math.min(...slow)).toBeLessThan(Math.max(...slow) - Math.min(...slow) - 250);
	});

	it("rate: at most `limit` of a key start in any window of `period`; held ones stay scheduled, none lost", async () => {
		const path = `/kl/rate/${uniqueName("r")}`;
		const topic = uniqueName("klrate");
		await partitionedTopic(topic, 1, { type: "webhook", url: `${receiverUrl()}${path}` });
		expect((await putKey(topic, "r", { rate: { limit: 3, period: "1s" } })).status).toBe(200);
		await publishKeyed(
			topic,
			Array.from({ length: 8 }, (_, i) => ({ key: "r", i })),
		);
		const early = await waitFor("the first window", async () => {
			const view = await json<KeyView>("GET", keyPath(topic, "r"));
			return view.body.rate_count === 3 ? view.body : undefined;
		});
		expect(early.waiting).toBeGreaterThanOrEqual(4);
		const got = await waitForReceived(path, 8, 15_000);
		const times = got.map((r) => r.receivedAtMs).sort((a, b) => a - b);
		for (const t of times) expect(times.filter((u) => u <= t && u > t - 1000).length).toBeLessThanOrEqual(3);
		expect(new Set(got.map((r) => bodyOf(r).i)).size).toBe(8);
	});

	it("paused: nothing of the key starts until it is resumed; other keys are not held", async () => {
		const path = `/kl/pause/${uniqueName("s")}`;
		const topic = uniqueName("klpause");
		await partitionedTopic(topic, 1, { type: "webhook", url: `${receiverUrl()}${path}` });
		expect((await putKey(topic, "held", { paused: true })).status).toBe(200);
		await publishKeyed(topic, [
			{ key: "held", i: 0 },
			{ key: "held", i: 1 },
			{ key: "other", i: 0 },
		]);
		await waitForReceived(path, 1);
		await sleep(500);
		expect((await waitForReceived(path, 1)).map((r) => bodyOf(r).key)).toEqual(["other"]);
		expect((await json<KeyView>("GET", keyPath(topic, "held"))).body.waiting).toBe(2);
		expect((await putKey(topic, "held", { paused: false })).status).toBe(200);
		const all = await waitForReceived(path, 3);
		expect(all.filter((r) => bodyOf(r).key === "held")).toHaveLength(2);
	});

	it("pull: a lease counts as in flight; the next of the key comes after the ack", async () => {
		const topic = uniqueName("klpull");
		await pullTopic(topic);
		expect((await putKey(topic, "one", { parallelism: 1 })).status).toBe(200);
		await publishBatch(topic, [
			{ key: "one", body: 1 },
			{ key: "one", body: 2 },
			{ key: "two", body: 3 },
		]);
		const first = await receive(topic, { max: 10 });
		expect(first.body.messages.map((m: Pulled) => m.body).sort()).toEqual([1, 3]);
		expect((await receive(topic, { max: 10 })).body.messages).toHaveLength(0);
		const one = first.body.messages.find((m: Pulled) => m.body === 1) as Pulled;
		await ack(topic, [one.receipt]);
		expect((await receive(topic, { max: 10 })).body.messages.map((m: Pulled) => m.body)).toEqual([2]);
	});
});

type Blocked = {
	key: string;
	blocked_by: string;
	waiting: number;
	head: { id: string; state: string; attempts: number; last_error: string | null } | null;
};

describe("blocked keys: why is nothing arriving", () => {
	it("an ordered subscription shows a key waiting behind its failing head, with the head's state", async () => {
		const path = `/kl/blocked/${uniqueName("b")}`;
		await behave(path, { status: 503 });
		const topic = uniqueName("klblk");
		await partitionedTopic(topic, 2, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			ordering: "key",
			retry: { max_attempts: 5, backoff: "fixed", base: "1h" },
		});
		const first = await json<{ id: string }>("POST", `/v1/topics/${topic}/messages`, {
			body: 1,
			key: "stuck",
			id: "s1",
		});
		expect(first.status).toBe(201);
		await waitForReceived(path, 1);
		await json("POST", `/v1/topics/${topic}/messages`, { body: 2, key: "stuck", id: "s2" });
		await json("POST", `/v1/topics/${topic}/messages`, { body: 3, key: "stuck", id: "s3" });
		const view = await waitFor("the blocked key", async () => {
			const res = await json<{ blocked_keys: { keys: Blocked[]; next_cursor: string | null } }>(
				"GET",
				`/v1/topics/${topic}/subscriptions/hook`,
			);
			return res.body.blocked_keys.keys.length > 0 ? res.body.blocked_keys : undefined;
		});
		expect(view.keys).toEqual([
			{
				key: "stuck",
				blocked_by: "ordering",
				waiting: 2,
				oldest_due_at: expect.any(String),
				head: expect.objectContaining({ id: "s1", state: "scheduled", attempts: 1, last_error: "HTTP 503" }),
			},
		]);
		expect(view.next_cursor).toBeNull();
	});

	it("keys held by their limits, paginated over partitions; bad cursor 400, unknown subscription 404", async () => {
		const topic = uniqueName("klblp");
		await partitionedTopic(topic, 3);
		const keys = ["k1", "k2", "k3", "k4", "k5"];
		for (const k of keys) expect((await putKey(topic, k, { paused: true })).status).toBe(200);
		await publishKeyed(
			topic,
			keys.map((key, i) => ({ key, i })),
		);
		await publishKeyed(topic, [{ key: "free", i: 9 }]);
		const seen: Blocked[] = [];
		let cursor: string | null = null;
		do {
			const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
			const page = await json<{ keys: Blocked[]; next_cursor: string | null }>(
				"GET",
				`/v1/topics/${topic}/subscriptions/hook/blocked-keys?limit=2${q}`,
			);
			expect(page.status).toBe(200);
			seen.push(...page.body.keys);
			cursor = page.body.next_cursor;
		} while (cursor);
		expect(seen.map((b) => [b.key, b.blocked_by, b.waiting])).toEqual(keys.map((k) => [k, "paused", 1]));
		expect((await json("GET", `/v1/topics/${topic}/subscriptions/hook/blocked-keys?cursor=zzz`)).status).toBe(400);
		expect((await json("GET", `/v1/topics/${topic}/subscriptions/nope/blocked-keys`)).status).toBe(404);
	});
});

describe("key limits: pull leases and the alarm", () => {
	it("an ack frees the key for the topic's push subscription at once, not at the lease's end", async () => {
		const topic = uniqueName("klack");
		const path = `/kl/ack/${uniqueName("a")}`;
		await pullTopic(topic);
		const hook = { type: "webhook", url: `${receiverUrl()}${path}` };
		expect((await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, { ...hook, paused: true })).status).toBe(201);
		expect((await putKey(topic, "k", { parallelism: 1 })).status).toBe(200);
		expect((await publish(topic, { key: "k", body: 1 })).status).toBe(201);
		const leased = await receive(topic, { max: 1, visibility_timeout: "30s" });
		expect(leased.body.messages).toHaveLength(1);
		expect((await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, { ...hook, paused: false })).status).toBe(200);
		await sleep(400);
		expect(await received(path)).toHaveLength(0);
		expect((await ack(topic, [(leased.body.messages[0] as Pulled).receipt])).status).toBe(200);
		await waitForReceived(path, 1, 5_000);
	});

	it("a receive waiting beside a paused key's due message leaves the alarm alone (no re-arm loop)", async () => {
		const topic = uniqueName("klspin");
		await pullTopic(topic);
		expect((await putKey(topic, "k", { paused: true })).status).toBe(200);
		expect((await publish(topic, { key: "k", body: 1 })).status).toBe(201);
		const waiting = receive(topic, { max: 1, wait: "2s" });
		await sleep(400);
		for (let i = 0; i < 4; i++) {
			const at = await getAlarm(topic);
			expect(at === null || at > Date.now() + 1_000, `alarm at ${at === null ? "none" : at - Date.now()} ms`).toBe(
				true,
			);
			await sleep(100);
		}
		expect((await waiting).body.messages).toHaveLength(0);
	});
});
