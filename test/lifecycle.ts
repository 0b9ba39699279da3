import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { unwrap } from "../src/errors";
import type { NewMessage } from "../src/topic/types";
import { json, type Received, received } from "./helpers";

/** Shared helpers of the message-lifecycle tests (issue 4): direct access to a topic's object. */

const HOUR_MS = 3_600_000;

/** The object of partition 0 of a topic. */
export const stubOf = (topic: string) => env.TOPIC.getByName(`${topic}#0`);

/** Runs SQL inside the topic's object. */
export function sql<T extends Record<string, SqlStorageValue> = Record<string, SqlStorageValue>>(
	topic: string,
	query: string,
	...bindings: SqlStorageValue[]
): Promise<T[]> {
	return runInDurableObject(stubOf(topic), (_instance, state) =>
		state.storage.sql.exec<T>(query, ...bindings).toArray(),
	);
}

/** The alarm time of the topic's object (null when none is set). */
export const getAlarm = (topic: string) => runInDurableObject(stubOf(topic), (_i, state) => state.storage.getAlarm());

/** Runs the object's alarm now (true if one was set). */
export const runAlarm = (topic: string) => runDurableObjectAlarm(stubOf(topic));

/** A message ready for the object's own publish. */
export function message(id: string, deliverAtMs: number, body: unknown = { id }): NewMessage {
	return {
		id,
		body: JSON.stringify(body),
		contentType: "application/json",
		headers: {},
		requestId: null,
		deliverAtMs,
	};
}

/**
 * Stores messages through the object's own publish, then parks the alarm an hour ahead, in one
 * call to the object, so the platform's alarm cannot fire in between and the test runs it instead.
 */
export function publishParked(topic: string, messages: NewMessage[]) {
	return runInDurableObject(stubOf(topic), async (instance, state) => {
		const outcomes = unwrap(await instance.publish({ partitions: 1 }, messages));
		await state.storage.setAlarm(Date.now() + HOUR_MS);
		return outcomes;
	});
}

/** Makes the scheduled deliveries of the given messages (all when none given) due now. */
export function makeDue(topic: string, ids?: string[]) {
	return runInDurableObject(stubOf(topic), (_instance, state) => {
		const now = Date.now();
		// Counted with RETURNING: rowsWritten also counts index entries and trigger writes.
		if (!ids) {
			return state.storage.sql
				.exec("UPDATE deliveries SET next_at_ms = ? WHERE state = 'scheduled' RETURNING 1", now)
				.toArray().length;
		}
		let n = 0;
		for (const id of ids) {
			n += state.storage.sql
				.exec(
					`UPDATE deliveries SET next_at_ms = ? WHERE state = 'scheduled'
					 AND mid = (SELECT mid FROM messages WHERE id = ?) RETURNING 1`,
					now,
					id,
				)
				.toArray().length;
		}
		return n;
	});
}

/** One delivery row, by message id and subscription name. */
export interface DeliveryRow extends Record<string, SqlStorageValue> {
	state: string;
	attempts: number;
	lease: number;
	next_at_ms: number | null;
	last_status: number | null;
	last_error: string | null;
	delivered_at_ms: number | null;
}

export async function deliveryRow(topic: string, id: string, subscription = "hook"): Promise<DeliveryRow> {
	const rows = await sql<DeliveryRow>(
		topic,
		`SELECT d.state, d.attempts, d.lease, d.next_at_ms, d.last_status, d.last_error, d.delivered_at_ms
		 FROM deliveries d JOIN messages m ON m.mid = d.mid JOIN subscriptions s ON s.sid = d.sid
		 WHERE m.id = ? AND s.name = ?`,
		id,
		subscription,
	);
	const row = rows[0];
	if (!row || rows.length !== 1)
		throw new Error(`expected one delivery of ${id} to ${subscription}, got ${rows.length}`);
	return row;
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
	const start = Date.now();
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

/** Waits until the receiver got at least `count` requests on `path`. */
export function waitForReceived(path: string, count: number, timeoutMs = 10_000): Promise<Received[]> {
	return waitFor(
		`${count} request(s) on ${path}`,
		async () => {
			const got = await received(path);
			return got.length >= count ? got : undefined;
		},
		timeoutMs,
	);
}

/** A subscription's counts and lag, through the API. */
export async function subscriptionStats(topic: string, name = "hook") {
	const res = await json<{
		counts: { scheduled: number; in_flight: number; delivered: number; dead: number };
		oldest_due_lag_ms: number;
		paused: boolean;
	}>("GET", `/v1/topics/${topic}/subscriptions/${name}`);
	expect(res.status).toBe(200);
	return res.body;
}

/**
 * Inserts `n` messages (ids `${prefix}00000`…) with a dead (or far-future scheduled) delivery for
 * subscription `name` directly in SQL, in one call; the counters follow through their triggers. Returns the sid.
 */
export function seedDeliveries(
	topic: string,
	name: string,
	n: number,
	prefix: string,
	state: "dead" | "scheduled" = "dead",
): Promise<number> {
	return runInDurableObject(stubOf(topic), (_instance, s) => {
		const db = s.storage.sql;
		const sid = db.exec<{ sid: number }>("SELECT sid FROM subscriptions WHERE name = ?", name).one().sid;
		const now = Date.now();
		db.exec(
			`WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
			 INSERT INTO messages (id, body, content_type, deliver_at_ms, published_at_ms)
			 SELECT ? || printf('%05d', i), '{}', 'application/json', ? - 1000 + i, ? FROM seq`,
			n,
			prefix,
			now,
			now,
		);
		const dead = state === "dead";
		db.exec(
			`INSERT INTO deliveries (mid, sid, state, next_at_ms, attempts, lease, last_status, last_error, updated_at_ms)
			 SELECT mid, ?, ?, ?, ?, ?, ?, ?, ? FROM messages WHERE substr(id, 1, ?) = ?`,
			sid,
			state,
			dead ? null : now + HOUR_MS,
			dead ? 3 : 0,
			dead ? 3 : 0,
			dead ? 500 : null,
			dead ? "HTTP 500" : null,
			now - 1,
			prefix.length,
			prefix,
		);
		return sid;
	});
}

/** delivery_counts (the triggers' counters) and a full COUNT(*) … GROUP BY of deliveries, for live subscriptions. */
export async function countsVsScan(topic: string) {
	return runInDurableObject(stubOf(topic), (_instance, s) => {
		const db = s.storage.sql;
		const kept = db
			.exec<{ sid: number; state: string; n: number }>(
				"SELECT sid, state, n FROM delivery_counts WHERE n != 0 ORDER BY sid, state",
			)
			.toArray();
		const scanned = db
			.exec<{ sid: number; state: string; n: number }>(
				`SELECT sid, state, COUNT(*) AS n FROM deliveries WHERE sid IN (SELECT sid FROM subscriptions)
				 GROUP BY sid, state ORDER BY sid, state`,
			)
			.toArray();
		const negative = db.exec("SELECT sid, state, n FROM delivery_counts WHERE n < 0").toArray();
		const totals = db.exec<{ n: number }>("SELECT n FROM totals WHERE name = 'messages'").one().n;
		const messages = db.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n;
		return { kept, scanned, negative, totals, messages };
	});
}

/** Asserts that the kept counters equal a full scan. */
export async function expectCountsMatchScan(topic: string) {
	const c = await countsVsScan(topic);
	expect(c.negative).toEqual([]);
	expect(c.kept).toEqual(c.scanned);
	expect(c.totals).toBe(c.messages);
	return c;
}
