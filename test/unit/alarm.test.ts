import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unwrap } from "../../src/errors";
import { CLAIM_AHEAD_MS, CLAIM_BATCH } from "../../src/topic/dispatcher";
import { migrate, SCHEMA_VERSION } from "../../src/topic/schema";
import { TopicStore } from "../../src/topic/store";
import type { NewMessage } from "../../src/topic/types";
import { api, behave, json, type Received, received, topicWithWebhook, uniqueName } from "../helpers";

const stubOf = (topic: string) => env.TOPIC.getByName(`${topic}#0`);
const HOUR_MS = 3_600_000;

function message(id: string, deliverAtMs: number): NewMessage {
	return {
		id,
		body: JSON.stringify({ id }),
		contentType: "application/json",
		headers: {},
		requestId: null,
		deliverAtMs,
	};
}

/**
 * Stores messages through the object's own publish, then parks the alarm an hour ahead, all in one
 * call to the object, so the platform's alarm cannot fire in between and the test runs it instead.
 */
async function publishParked(topic: string, messages: NewMessage[]) {
	return runInDurableObject(stubOf(topic), async (instance, state) => {
		const outcomes = unwrap(await instance.publish({ partitions: 1 }, messages));
		await state.storage.setAlarm(Date.now() + HOUR_MS);
		return outcomes;
	});
}

function sql<T extends Record<string, SqlStorageValue>>(topic: string, query: string, ...bindings: SqlStorageValue[]) {
	return runInDurableObject(stubOf(topic), (_instance, state) =>
		state.storage.sql.exec<T>(query, ...bindings).toArray(),
	);
}

const getAlarm = (topic: string) => runInDurableObject(stubOf(topic), (_i, state) => state.storage.getAlarm());

describe("alarm-driven delivery", () => {
	// End to end through the platform's alarm: a burst after a quiet stretch of the same run gets six
	// requests in flight. (It does not reproduce the senders-leaving-one-by-one bug: that needed
	// desynchronised senders at ~1,000/s, which no test here recreates deterministically.)
	it("keeps six requests in flight for a burst after a quiet stretch of the same run", async () => {
		const topic = uniqueName("senders");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		await behave(path, { status: 200, delayMs: 30 });
		// Published the normal way: the platform's alarm runs it (a manual alarm run here would race
		// the alarm that the run itself arms).
		const start = Date.now() + 200;
		const quiet = Array.from({ length: 150 }, (_, i) => message(`q-${i}`, start + i * 15));
		const burstAt = start + 150 * 15 + 30;
		const burst = Array.from({ length: 60 }, (_, i) => message(`b-${i}`, burstAt));
		await runInDurableObject(stubOf(topic), async (instance) =>
			unwrap(await instance.publish({ partitions: 1 }, [...quiet, ...burst])),
		);

		const deadline = Date.now() + 15_000;
		let got = await received(path);
		while (got.length < 210 && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 50));
			got = await received(path);
		}
		expect(got).toHaveLength(210);
		const inBurst = got.filter((r) => r.headers["webhook-id"]?.startsWith("b-"));
		// This topic's requests open when each arrived (each is answered 30 ms after it arrives): not
		// the receiver's own count, which other test files' requests running meanwhile would raise.
		const open = (r: Received) =>
			got.filter((o) => o.receivedAtMs <= r.receivedAtMs && o.receivedAtMs + 30 > r.receivedAtMs).length;
		expect(Math.max(...inBurst.map(open))).toBeGreaterThanOrEqual(5);
	});

	it("delivers every due message over several claim rounds, then clears the alarm", async () => {
		const topic = uniqueName("alarm");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		const n = 120;
		expect(n).toBeGreaterThan(2 * CLAIM_BATCH);
		const now = Date.now();
		const ids = Array.from({ length: n }, (_, i) => `m-${String(i).padStart(3, "0")}`);
		await publishParked(
			topic,
			ids.map((id, i) => message(id, now - i)),
		);
		expect(await sql(topic, "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'scheduled'")).toEqual([{ n }]);

		expect(await runDurableObjectAlarm(stubOf(topic))).toBe(true);

		const got = await received(path);
		if (got.length !== n) {
			// Seen once under full-suite load (99 of 120): say what became of the others.
			const left = await sql(
				topic,
				"SELECT state, attempts, last_status, last_error FROM deliveries WHERE state != 'delivered'",
			);
			console.error(`alarm run delivered ${got.length} of ${n}; the others:`, JSON.stringify(left.slice(0, 10)));
		}
		expect(got).toHaveLength(n);
		expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set(ids));
		expect(got.every((r) => r.headers["sundial-attempt"] === "1")).toBe(true);
		const rows = await sql<{ state: string; n: number; next: number; attempts: number }>(
			topic,
			"SELECT state, COUNT(*) AS n, COUNT(next_at_ms) AS next, MAX(attempts) AS attempts FROM deliveries GROUP BY state",
		);
		expect(rows).toEqual([{ state: "delivered", n, next: 0, attempts: 1 }]);
		// Nothing is pending; the alarm now waits for the retention sweep of the finished messages.
		const [finished] = await sql<{ oldest: number }>(topic, "SELECT MIN(finished_at_ms) AS oldest FROM messages");
		expect(await getAlarm(topic)).toBe((finished?.oldest ?? 0) + 7 * 86_400_000);

		const sub = await json<{ counts: object; oldest_due_lag_ms: number }>(
			"GET",
			`/v1/topics/${topic}/subscriptions/hook`,
		);
		expect(sub.body).toMatchObject({
			counts: { scheduled: 0, in_flight: 0, delivered: n, dead: 0 },
			oldest_due_lag_ms: 0,
		});
	});

	it("re-arms for the next pending message, and an earlier publish moves the alarm earlier", async () => {
		const topic = uniqueName("alarm");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		const now = Date.now();
		const later = now + 10 * 60_000;
		await publishParked(topic, [message("due", now), message("later", later)]);

		expect(await runDurableObjectAlarm(stubOf(topic))).toBe(true);
		expect((await received(path)).map((r) => r.headers["webhook-id"])).toEqual(["due"]);
		expect(await getAlarm(topic)).toBe(later - CLAIM_AHEAD_MS);

		const earlier = await json<{ deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, {
			body: 1,
			delay: "5m",
		});
		expect(earlier.status).toBe(201);
		const earlierMs = Date.parse(earlier.body.deliver_at);
		expect(earlierMs).toBeLessThan(later);
		expect(await getAlarm(topic)).toBe(earlierMs - CLAIM_AHEAD_MS);

		const laterStill = await api("POST", `/v1/topics/${topic}/messages`, { body: 2, delay: "1h" });
		expect(laterStill.status).toBe(201);
		expect(await getAlarm(topic)).toBe(earlierMs - CLAIM_AHEAD_MS);

		const pending = await sql<{ next_at_ms: number }>(
			topic,
			"SELECT next_at_ms FROM deliveries WHERE state = 'scheduled' ORDER BY next_at_ms LIMIT 1",
		);
		expect(pending).toEqual([{ next_at_ms: earlierMs }]);
	});

	it("records a failed attempt and re-arms at its retry time (Retry-After, capped at max)", async () => {
		const topic = uniqueName("alarm");
		const path = `/hook/${topic}`;
		await behave(path, { status: 503, headers: { "retry-after": "120" } });
		await topicWithWebhook(topic, path, { retry: { max_attempts: 3, backoff: "fixed", base: "10s", max: "1m" } });
		await publishParked(topic, [message("fails", Date.now())]);

		const before = Date.now();
		expect(await runDurableObjectAlarm(stubOf(topic))).toBe(true);
		const after = Date.now();
		const [row] = await sql<{ state: string; attempts: number; last_status: number; next_at_ms: number }>(
			topic,
			"SELECT state, attempts, last_status, last_error, next_at_ms FROM deliveries",
		);
		expect(row).toMatchObject({ state: "scheduled", attempts: 1, last_status: 503, last_error: "HTTP 503" });
		// Retry-After 120 s is capped at the policy's max of 60 s.
		expect(row?.next_at_ms).toBeGreaterThanOrEqual(before + 60_000);
		expect(row?.next_at_ms).toBeLessThanOrEqual(after + 60_000);
		expect(await getAlarm(topic)).toBe((row?.next_at_ms ?? 0) - CLAIM_AHEAD_MS);
	});

	it("moves the alarm to the retention sweep when the last pending delivery goes away, and drops it with the topic", async () => {
		const topic = uniqueName("alarm");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const res = await json<{ deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, { body: 1, delay: "1h" });
		expect(await getAlarm(topic)).toBe(Date.parse(res.body.deliver_at) - CLAIM_AHEAD_MS);
		const before = Date.now();
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/hook`)).status).toBe(200);
		const alarm = await getAlarm(topic);
		expect(alarm).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
		expect(alarm).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000);

		await topicWithWebhook(topic, `/hook/${topic}`);
		await api("POST", `/v1/topics/${topic}/messages`, { body: 1, delay: "1h" });
		expect(await getAlarm(topic)).not.toBeNull();
		expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(200);
		expect(await getAlarm(topic)).toBeNull();
	});
});

describe("schema", () => {
	it("migrates a fresh object to SCHEMA_VERSION, and migrating again changes nothing", async () => {
		const stub = stubOf(uniqueName("fresh"));
		const result = await runInDurableObject(stub, (_instance, state) => {
			const version = state.storage.sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").toArray();
			const objects = state.storage.sql
				.exec<{ name: string }>(
					"SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
				)
				.toArray()
				.map((r) => r.name);
			return { version, objects, again: migrate(state.storage) };
		});
		expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
		expect(result.version).toEqual([{ value: String(SCHEMA_VERSION) }]);
		expect(result.again).toBe(SCHEMA_VERSION);
		expect(result.objects).toEqual(
			expect.arrayContaining([
				"deliveries",
				"deliveries_by_sub",
				"deliveries_pending",
				"messages",
				"meta",
				"subscriptions",
			]),
		);
	});

	it("refuses storage written by a newer schema", async () => {
		const stub = stubOf(uniqueName("newer"));
		const message = await runInDurableObject(stub, (_instance, state) => {
			state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'schema_version'", String(SCHEMA_VERSION + 1));
			try {
				migrate(state.storage);
				return "migrated";
			} catch (error) {
				return (error as Error).message;
			} finally {
				state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'schema_version'", String(SCHEMA_VERSION));
			}
		});
		expect(message).toMatch(/newer than this code/);
	});

	/** The SQL a TopicStore method runs, captured from a stand-in storage that returns no rows. */
	function capturedSql(call: (store: TopicStore) => unknown): { query: string; bindings: SqlStorageValue[] } {
		const seen: { query: string; bindings: SqlStorageValue[] }[] = [];
		const storage = {
			sql: {
				exec: (query: string, ...bindings: SqlStorageValue[]) => {
					seen.push({ query, bindings });
					return { toArray: () => [], rowsWritten: 0 };
				},
			},
		};
		call(new TopicStore(storage as unknown as DurableObjectStorage));
		const first = seen[0];
		if (!first) throw new Error("no SQL ran");
		return first;
	}

	async function queryPlan(captured: { query: string; bindings: SqlStorageValue[] }): Promise<string[]> {
		return runInDurableObject(stubOf(uniqueName("plan")), (_instance, state) =>
			state.storage.sql
				.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${captured.query}`, ...captured.bindings)
				.toArray()
				.map((r) => r.detail),
		);
	}

	// Without the unary `+` on `d.sid`, SQLite answers the claim from deliveries_by_sub and sorts
	// each subscription's whole backlog in a temp B-tree; this pins the indexed plan.
	it("claims due deliveries through the deliveries_pending index, without a sort", async () => {
		const plan = await queryPlan(capturedSql((store) => store.claimDue(Date.now(), CLAIM_BATCH, () => 0)));
		const onDeliveries = plan.filter((step) => /\b(SCAN|SEARCH) d\b/.test(step));
		expect(onDeliveries).toHaveLength(1);
		expect(onDeliveries[0]).toMatch(/^SEARCH d USING (COVERING )?INDEX deliveries_pending \(next_at_ms/);
		expect(plan.join("\n")).not.toMatch(/TEMP B-TREE/);
	});

	// Through deliveries_pending, finding expired leases would first walk every due scheduled
	// delivery (a backlog of 20,000 due at once made each round read all of them).
	it("finds expired leases through deliveries_by_sub, reading only in-flight rows", async () => {
		const plan = await queryPlan(capturedSql((store) => store.expireLeases(Date.now(), CLAIM_BATCH, () => 0)));
		const onDeliveries = plan.filter((step) => /\b(SCAN|SEARCH) d\b/.test(step));
		expect(onDeliveries).toHaveLength(1);
		expect(onDeliveries[0]).toMatch(
			/^SEARCH d USING (COVERING )?INDEX deliveries_by_sub \(sid=\? AND state=\? AND next_at_ms<\?\)/,
		);
		// Each expired lease's message (its /v2 retries) by primary key.
		expect(plan.filter((step) => /\b(SCAN|SEARCH) m\b/.test(step))).toEqual([
			expect.stringMatching(/^SEARCH m USING INTEGER PRIMARY KEY/),
		]);
		expect(plan.join("\n")).not.toMatch(/TEMP B-TREE/);
	});

	// Outcomes and claims are written a batch per statement (UPDATE … FROM VALUES); each row must be
	// found by its primary key, never by scanning deliveries.
	it("records a batch of outcomes by primary key lookups", async () => {
		const record = {
			kind: "delivered" as const,
			...{ mid: 1, sid: 1, lease: 1, messageId: "m1", attempt: 1 },
			status: 200,
			atMs: 0,
		};
		const captured = capturedSql((store) => store.recordAttempts([record, { ...record, mid: 2 }], 0));
		expect(captured.query).toMatch(/FROM \(VALUES \(\?, \?, \?, \?, \?\), \(\?, \?, \?, \?, \?\)\)/);
		const plan = await queryPlan(captured);
		const onDeliveries = plan.filter((step) => /\b(SCAN|SEARCH) deliveries\b/.test(step));
		expect(onDeliveries).toEqual([expect.stringMatching(/^SEARCH deliveries USING PRIMARY KEY \(mid=\? AND sid=\?\)/)]);
	});

	it("finds the next pending time through the deliveries_pending index", async () => {
		const plan = await queryPlan(capturedSql((store) => store.nextPendingAtMs()));
		const onDeliveries = plan.filter((step) => /\b(SCAN|SEARCH) deliveries\b/.test(step));
		expect(onDeliveries).toHaveLength(1);
		expect(onDeliveries[0]).toMatch(/^SEARCH deliveries USING (COVERING )?INDEX deliveries_pending/);
		expect(plan.join("\n")).not.toMatch(/TEMP B-TREE/);
	});
});
