import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { json } from "./helpers";

/** Shared helpers of the pull-consumer tests (issue 5). */

/** A message as `receive` returns it. */
export interface Pulled {
	id: string;
	receipt: string;
	body: unknown;
	headers: Record<string, string>;
	attempt: number;
	deliver_at: string;
}

/** The object of partition 0 of a topic. */
export const pullStub = (topic: string) => env.TOPIC.getByName(`${topic}#0`);

/** Creates the topic and a pull subscription `sub` on it. */
export async function pullTopic(topic: string, config: Record<string, unknown> = {}, sub = "p"): Promise<void> {
	const t = await json("PUT", `/v1/topics/${topic}`, {});
	if (t.status !== 201 && t.status !== 200) throw new Error(`topic not created: ${JSON.stringify(t.body)}`);
	const s = await json("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, { type: "pull", ...config });
	if (s.status !== 201) throw new Error(`subscription not created: ${JSON.stringify(s.body)}`);
}

/** Publishes one message; returns the response. */
export function publish(topic: string, message: Record<string, unknown>) {
	return json<{ id: string; deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, message);
}

/** POST …/receive. */
export function receive(topic: string, body: Record<string, unknown> = {}, sub = "p") {
	return json<{ messages: Pulled[] }>("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, body);
}

/** POST …/ack. */
export function ack(topic: string, receipts: unknown[], sub = "p") {
	return json<{ results: Record<string, boolean> }>("POST", `/v1/topics/${topic}/subscriptions/${sub}/ack`, {
		receipts,
	});
}

/** POST …/nack. */
export function nack(topic: string, receipts: unknown[], delay?: string, sub = "p") {
	return json<{ results: Record<string, boolean> }>("POST", `/v1/topics/${topic}/subscriptions/${sub}/nack`, {
		receipts,
		...(delay === undefined ? {} : { delay }),
	});
}

/** POST …/extend. */
export function extend(topic: string, receipt: string, visibility_timeout: string, sub = "p") {
	return json<{ receipt: string; extended: boolean; lease_expires_at: string | null }>(
		"POST",
		`/v1/topics/${topic}/subscriptions/${sub}/extend`,
		{ receipt, visibility_timeout },
	);
}

/** Runs SQL inside the topic's object. */
export function pullSql<T extends Record<string, SqlStorageValue> = Record<string, SqlStorageValue>>(
	topic: string,
	query: string,
	...bindings: SqlStorageValue[]
): Promise<T[]> {
	return runInDurableObject(pullStub(topic), (_instance, state) =>
		state.storage.sql.exec<T>(query, ...bindings).toArray(),
	);
}

/** The delivery row of message `id` for subscription `sub`. */
export async function delivery(topic: string, id: string, sub = "p") {
	const [row] = await pullSql<{ state: string; attempts: number; lease: number; next_at_ms: number | null }>(
		topic,
		`SELECT d.state, d.attempts, d.lease, d.next_at_ms FROM deliveries d
		 JOIN messages m ON m.mid = d.mid JOIN subscriptions s ON s.sid = d.sid
		 WHERE m.id = ? AND s.name = ?`,
		id,
		sub,
	);
	if (!row) throw new Error(`no delivery of ${id} for ${sub}`);
	return row;
}

/** Makes the in-flight lease of message `id` (subscription `sub`) end in the past. */
export async function expireLease(topic: string, id: string, sub = "p"): Promise<number> {
	const rows = await pullSql(
		topic,
		`UPDATE deliveries SET next_at_ms = ? WHERE state = 'in_flight'
		 AND mid = (SELECT mid FROM messages WHERE id = ?) AND sid = (SELECT sid FROM subscriptions WHERE name = ?)
		 RETURNING 1`,
		Date.now() - 1,
		id,
		sub,
	);
	return rows.length;
}

/** Makes the scheduled delivery of message `id` (subscription `sub`) due now. */
export async function makeDueNow(topic: string, id: string, sub = "p"): Promise<number> {
	const rows = await pullSql(
		topic,
		`UPDATE deliveries SET next_at_ms = ? WHERE state = 'scheduled'
		 AND mid = (SELECT mid FROM messages WHERE id = ?) AND sid = (SELECT sid FROM subscriptions WHERE name = ?)
		 RETURNING 1`,
		Date.now(),
		id,
		sub,
	);
	return rows.length;
}

/** Runs the object's alarm now; true if one was set. */
export const runAlarm = (topic: string) => runDurableObjectAlarm(pullStub(topic));

/** The subscription's counts. */
export async function counts(topic: string, sub = "p") {
	const res = await json<{ counts: Record<string, number> }>("GET", `/v1/topics/${topic}/subscriptions/${sub}`);
	return res.body.counts;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The alarm time of the topic's object (null when none is set). */
export const alarmAt = (topic: string) => runInDurableObject(pullStub(topic), (_i, state) => state.storage.getAlarm());

/** Publishes a batch; throws unless every item was stored. */
export async function publishBatch(topic: string, items: Record<string, unknown>[]): Promise<void> {
	const res = await json<{ results: { id?: string; error?: unknown }[] }>(
		"POST",
		`/v1/topics/${topic}/messages/batch`,
		items,
	);
	if (res.status !== 200 || res.body.results.some((r) => r.error)) {
		throw new Error(`batch not published: ${JSON.stringify(res.body)}`);
	}
}
