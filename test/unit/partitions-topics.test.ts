import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import type { SubscriptionConfig } from "../../src/topic/types";
import { WriteLock } from "../../src/topic/write-lock";
import { api, json, receiverUrl, uniqueName } from "../helpers";
import { idsByPartition, partitionedTopic, partitionSql, partitionStub, publishBatch } from "../partitions";

/** A subscription's stored configuration, as the topic client hands it to a partition. */
function storedConfig(type: "webhook" | "pull", url: string | null): SubscriptionConfig {
	return {
		type,
		url,
		headers: {},
		timeoutMs: 30_000,
		queue: null,
		visibilityTimeoutMs: 30_000,
		retry: { maxAttempts: 10, backoff: "exponential", baseMs: 1000, maxMs: 3_600_000, jitter: true },
		paused: false,
	};
}

type ErrorBody = { error: { code: string; message: string; issues?: { path: string; message: string }[] } };

describe("PUT /v1/topics/{topic} with partitions", () => {
	it.each([0, 65, 1.5, "4", null, -1])(
		"refuses partitions %j with 400 naming the field, creating nothing",
		async (bad) => {
			const topic = uniqueName("pbad");
			const res = await json<ErrorBody>("PUT", `/v1/topics/${topic}`, { partitions: bad });
			expect(res.status).toBe(400);
			expect(res.body.error.code).toBe("invalid_request");
			expect(res.body.error.issues?.map((i) => i.path)).toEqual(["partitions"]);
			expect((await api("GET", `/v1/topics/${topic}`)).status).toBe(404);
			expect(await partitionSql(topic, 0, "SELECT key FROM meta WHERE key = 'topic'")).toEqual([]);
		},
	);

	it("creates every partition with the count, and GET shows it", async () => {
		const topic = uniqueName("pnew");
		const res = await json("PUT", `/v1/topics/${topic}`, { partitions: 8, retention: "1d" });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ name: topic, partitions: 8, retention_ms: 86_400_000, messages: 0 });
		expect((await json("GET", `/v1/topics/${topic}`)).body).toMatchObject({ partitions: 8 });
		for (let p = 0; p < 8; p++) {
			const [row] = await partitionSql<{ value: string }>(topic, p, "SELECT value FROM meta WHERE key = 'topic'");
			expect(JSON.parse(row?.value ?? "null")).toMatchObject({ name: topic, partitions: 8, partition: p });
		}
		expect(await partitionSql(topic, 8, "SELECT key FROM meta WHERE key = 'topic'")).toEqual([]);
	});

	it("defaults to one partition", async () => {
		const topic = uniqueName("pdef");
		expect((await json("PUT", `/v1/topics/${topic}`, {})).body).toMatchObject({ partitions: 1 });
	});

	it("keeps the count: the same or no count updates (200), another is a 409 naming the field", async () => {
		const topic = uniqueName("pfix");
		await json("PUT", `/v1/topics/${topic}`, { partitions: 4 });
		expect((await json("PUT", `/v1/topics/${topic}`, { partitions: 4, retention: "2d" })).status).toBe(200);
		const kept = await json("PUT", `/v1/topics/${topic}`, { retention: "3d" });
		expect(kept.status).toBe(200);
		expect(kept.body).toMatchObject({ partitions: 4, retention_ms: 3 * 86_400_000 });
		const changed = await json<ErrorBody>("PUT", `/v1/topics/${topic}`, { partitions: 2 });
		expect(changed.status).toBe(409);
		expect(changed.body.error.code).toBe("partitions_fixed");
		expect(changed.body.error.issues?.map((i) => i.path)).toEqual(["partitions"]);
		// Every partition took the retention update; none changed its count.
		for (let p = 0; p < 4; p++) {
			const [row] = await partitionSql<{ value: string }>(topic, p, "SELECT value FROM meta WHERE key = 'topic'");
			expect(JSON.parse(row?.value ?? "null")).toMatchObject({ partitions: 4, retentionMs: 3 * 86_400_000 });
		}
	});

	it("deleting and creating again with another count works at once, and routes by the new count", async () => {
		const topic = uniqueName("precreate");
		await partitionedTopic(topic, 8);
		// Publishing fills this isolate's cache with 8 partitions.
		await publishBatch(topic, [{ id: "a", body: 1, delay: "1h" }]);
		expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(200);
		for (let p = 0; p < 8; p++) {
			expect(await partitionSql(topic, p, "SELECT id FROM messages")).toEqual([]);
		}
		await partitionedTopic(topic, 3);
		const ids = Array.from({ length: 30 }, (_, i) => `m-${i}`);
		const results = await publishBatch(
			topic,
			ids.map((id) => ({ id, body: 1, delay: "1h" })),
		);
		expect(results.every((r) => !("error" in r) && !("duplicate" in r))).toBe(true);
		for (const id of ids) expect((await api("GET", `/v1/topics/${topic}/messages/${id}`)).status).toBe(200);
		expect((await json("GET", `/v1/topics/${topic}`)).body).toMatchObject({ partitions: 3, messages: 30 });
		// Nothing landed in a partition the new topic does not have.
		for (let p = 3; p < 8; p++) expect(await partitionSql(topic, p, "SELECT id FROM messages")).toEqual([]);
	});

	it("a partition refuses a call routed with another count (stale_route)", async () => {
		const topic = uniqueName("pstale");
		await partitionedTopic(topic, 2);
		const result = await partitionStub(topic, 0).describe({ partitions: 4 });
		expect(result).toMatchObject({ ok: false, error: { code: "stale_route" } });
	});
});

describe("subscriptions on a partitioned topic", () => {
	it("are on every partition with one secret; GET merges counts and the worst lag", async () => {
		const topic = uniqueName("psub");
		await json("PUT", `/v1/topics/${topic}`, { partitions: 4 });
		const created = await json<{ secret: string }>("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}/never/${topic}`,
			paused: true,
		});
		expect(created.status).toBe(201);
		expect(created.body.secret).toMatch(/^whsec_/);
		for (let p = 0; p < 4; p++) {
			const rows = await partitionSql<{ name: string; secret: string }>(
				topic,
				p,
				"SELECT name, secret FROM subscriptions",
			);
			expect(rows).toEqual([{ name: "hook", secret: created.body.secret }]);
		}
		const items = Array.from({ length: 40 }, (_, i) => ({ id: `s-${i}`, body: i, delay: i < 20 ? 0 : 3600 }));
		await publishBatch(topic, items);
		const sub = await json<{ counts: Record<string, number>; oldest_due_lag_ms: number }>(
			"GET",
			`/v1/topics/${topic}/subscriptions/hook`,
		);
		expect(sub.body.counts).toEqual({ scheduled: 40, in_flight: 0, delivered: 0, dead: 0 });
		expect(sub.body.oldest_due_lag_ms).toBeGreaterThanOrEqual(0);
		const topicView = await json<{ messages: number; counts: Record<string, number>; subscriptions: number }>(
			"GET",
			`/v1/topics/${topic}`,
		);
		expect(topicView.body).toMatchObject({ messages: 40, subscriptions: 1, counts: { scheduled: 40 } });
		const list = await json<{ subscriptions: { name: string; counts: Record<string, number> }[] }>(
			"GET",
			`/v1/topics/${topic}/subscriptions`,
		);
		expect(list.body.subscriptions).toMatchObject([{ name: "hook", counts: { scheduled: 40 } }]);

		// The worst partition's lag: make one partition's oldest due delivery an hour late.
		const [row] = await partitionSql<{ mid: number }>(topic, 3, "SELECT mid FROM deliveries LIMIT 1");
		expect(row).toBeDefined();
		await partitionSql(
			topic,
			3,
			"UPDATE deliveries SET next_at_ms = ? WHERE mid = ?",
			Date.now() - 3_600_000,
			row?.mid ?? 0,
		);
		const lagged = await json<{ oldest_due_lag_ms: number }>("GET", `/v1/topics/${topic}/subscriptions/hook`);
		expect(lagged.body.oldest_due_lag_ms).toBeGreaterThanOrEqual(3_600_000);
	});

	it("a replacing PUT keeps the secret everywhere and applies the new configuration to every partition", async () => {
		const topic = uniqueName("prep");
		await partitionedTopic(topic, 3);
		const [first] = await partitionSql<{ secret: string }>(topic, 0, "SELECT secret FROM subscriptions");
		const replaced = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}/other/${topic}`,
			paused: true,
		});
		expect(replaced.status).toBe(200);
		expect(replaced.body).toMatchObject({ secret: null, paused: true });
		for (let p = 0; p < 3; p++) {
			const [row] = await partitionSql<{ secret: string; config: string }>(
				topic,
				p,
				"SELECT secret, config FROM subscriptions",
			);
			expect(row?.secret).toBe(first?.secret);
			expect(JSON.parse(row?.config ?? "{}")).toMatchObject({ paused: true, url: `${receiverUrl()}/other/${topic}` });
		}
	});

	it("a PUT that failed part-way converges when repeated: every partition ends with one secret", async () => {
		const topic = uniqueName("pconv");
		await json("PUT", `/v1/topics/${topic}`, { partitions: 3 });
		const route = { partitions: 3 };
		const config = storedConfig("webhook", `${receiverUrl()}/x`);
		// What a first PUT that stopped after partition 2 leaves behind: partition 0 never heard of it.
		await partitionStub(topic, 2).putSubscription(route, "hook", config, "whsec_left_over");
		expect((await api("GET", `/v1/topics/${topic}/subscriptions/hook`)).status).toBe(404);
		const again = await json<{ secret: string }>("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}/x`,
		});
		expect(again.status).toBe(201);
		for (let p = 0; p < 3; p++) {
			expect(await partitionSql(topic, p, "SELECT secret FROM subscriptions")).toEqual([{ secret: again.body.secret }]);
		}
	});

	it("DELETE removes it from every partition, also one left over only in some partitions", async () => {
		const topic = uniqueName("pdel");
		await partitionedTopic(topic, 4);
		await publishBatch(
			topic,
			Array.from({ length: 20 }, (_, i) => ({ id: `d-${i}`, body: i, delay: "1h" })),
		);
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/hook`)).status).toBe(200);
		for (let p = 0; p < 4; p++) {
			expect(await partitionSql(topic, p, "SELECT name FROM subscriptions")).toEqual([]);
			expect(await partitionSql(topic, p, "SELECT mid FROM deliveries")).toEqual([]);
		}
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/hook`)).status).toBe(404);

		// Left over in partition 1 only (a failed PUT): DELETE still removes it and answers 200.
		await partitionStub(topic, 1).putSubscription({ partitions: 4 }, "ghost", storedConfig("pull", null), null);
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/ghost`)).status).toBe(200);
		expect(await partitionSql(topic, 1, "SELECT name FROM subscriptions")).toEqual([]);
	});

	it("topic DELETE empties every partition and frees the name", async () => {
		const topic = uniqueName("ptdel");
		await partitionedTopic(topic, 4);
		await publishBatch(
			topic,
			Array.from({ length: 20 }, (_, i) => ({ id: `t-${i}`, body: i, delay: "1h" })),
		);
		expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(200);
		for (let p = 0; p < 4; p++) {
			expect(await partitionSql(topic, p, "SELECT key FROM meta WHERE key = 'topic'")).toEqual([]);
			expect(await partitionSql(topic, p, "SELECT mid FROM messages")).toEqual([]);
		}
		expect((await api("GET", `/v1/topics/${topic}`)).status).toBe(404);
		expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(404);
	});
});

describe("the isolate's cached partition count", () => {
	it("never misroutes after the topic was deleted and created again with another count elsewhere", async () => {
		const topic = uniqueName("pcache");
		await partitionedTopic(topic, 8);
		// This isolate now caches 8 partitions for the topic.
		await publishBatch(topic, [{ id: "before", body: 1, delay: "1h" }]);
		// Another isolate deletes it and creates it with 3 partitions: straight to the objects, so
		// this isolate's cache is not told.
		for (let p = 7; p >= 0; p--) await partitionStub(topic, p).destroy();
		const nowMs = Date.now();
		for (const p of [1, 2, 0]) {
			await partitionStub(topic, p).configure({
				name: topic,
				partition: p,
				partitions: 3,
				retentionMs: 86_400_000,
				nowMs,
			});
		}
		await partitionStub(topic, 1).putSubscription({ partitions: 3 }, "hook", storedConfig("pull", null), null);
		await partitionStub(topic, 2).putSubscription({ partitions: 3 }, "hook", storedConfig("pull", null), null);
		await partitionStub(topic, 0).putSubscription({ partitions: 3 }, "hook", storedConfig("pull", null), null);

		const ids = Array.from({ length: 40 }, (_, i) => `c-${i}`);
		const results = await publishBatch(
			topic,
			ids.map((id) => ({ id, body: 1, delay: "1h" })),
		);
		expect(results.every((r) => !("error" in r))).toBe(true);
		const stored = await idsByPartition(topic, 8);
		for (let p = 0; p < 8; p++) {
			expect(stored[p]).toEqual(p < 3 ? ids.filter((id) => partitionOf(id, 3) === p).sort() : []);
		}
		// Lookups by id use the new count too.
		for (const id of ids.slice(0, 5)) expect((await api("GET", `/v1/topics/${topic}/messages/${id}`)).status).toBe(200);
		expect((await json("GET", `/v1/topics/${topic}`)).body).toMatchObject({ partitions: 3, messages: 40 });
	});
});

describe("a partition left with another count", () => {
	it("answers 503 topic_changing (never the internal stale_route), and a topic PUT heals it", async () => {
		const topic = uniqueName("pheal");
		await json("PUT", `/v1/topics/${topic}`, { partitions: 4 });
		// What a racing creation with 8 partitions leaves in an empty partition.
		await partitionStub(topic, 1).configure({
			name: topic,
			partition: 1,
			partitions: 8,
			retentionMs: 86_400_000,
			nowMs: Date.now(),
		});
		const broken = await json<ErrorBody>("GET", `/v1/topics/${topic}`);
		expect(broken.status).toBe(503);
		expect(broken.body.error.code).toBe("topic_changing");
		expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(200);
		expect((await json("GET", `/v1/topics/${topic}`)).body).toMatchObject({ partitions: 4 });
	});
});

describe("concurrent subscription writes", () => {
	it("take turns at partition 0's write lock: a PUT waits while another write holds it", async () => {
		const topic = uniqueName("plock");
		await json("PUT", `/v1/topics/${topic}`, { partitions: 4 });
		const route = { partitions: 4 };
		expect(await partitionStub(topic, 0).lockSubscriptions(route, "other-writer", 10_000)).toEqual({
			ok: true,
			value: true,
		});
		expect(await partitionStub(topic, 0).lockSubscriptions(route, "third-writer", 10_000)).toEqual({
			ok: true,
			value: false,
		});
		let answered = false;
		const put = json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}/a`,
		}).then((res) => {
			answered = true;
			return res;
		});
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(answered).toBe(false);
		for (let p = 0; p < 4; p++) expect(await partitionSql(topic, p, "SELECT name FROM subscriptions")).toEqual([]);
		await partitionStub(topic, 0).unlockSubscriptions("other-writer");
		expect((await put).status).toBe(201);
		const rows = await Promise.all(
			[0, 1, 2, 3].map((p) => partitionSql(topic, p, "SELECT name, secret FROM subscriptions")),
		);
		for (const r of rows) expect(r).toEqual(rows[0]);
		// The PUT released the lock when it was done.
		expect(await partitionStub(topic, 0).lockSubscriptions(route, "third-writer", 10_000)).toEqual({
			ok: true,
			value: true,
		});
	});

	it("a lock whose holder died expires", () => {
		const lock = new WriteLock();
		expect(lock.take("a", 1000, 0)).toBe(true);
		expect(lock.take("b", 1000, 500)).toBe(false);
		expect(lock.take("a", 1000, 600)).toBe(true);
		expect(lock.take("b", 1000, 1601)).toBe(true);
		lock.release("a");
		expect(lock.take("a", 1000, 1700)).toBe(false);
		lock.release("b");
		expect(lock.take("a", 1000, 1700)).toBe(true);
	});
});
