/**
 * Every SQL statement of the outbox. All are parameterised and bounded: reads by topic and seq go
 * through `_sundial_outbox_by_topic`, the next due topic through `_sundial_outbox_topics_due`.
 */

import type { DeadMessage, OutboxMessage, OutboxStats } from "./types";

/** A stored message on its way to Sundial. */
export interface OutboxRow {
	seq: number;
	id: string;
	message: string;
}

/** Why Sundial did not take a message (its error object). */
export interface RefusalBody {
	code: string;
	message: string;
	issues?: { path: string; message: string }[];
}

/** The alarm bookkeeping kept in `_sundial_outbox_meta` (see alarm.ts). */
export type AlarmKey = "armed_ms" | "displaced_ms";

export class OutboxStore {
	constructor(private readonly sql: SqlStorage) {}

	/** Stores a message; its topic becomes due now unless it is already waiting (then it keeps its turn). */
	insert(topic: string, id: string, json: string, nowMs: number): void {
		this.sql.exec(
			"INSERT INTO _sundial_outbox (topic, id, message, published_at_ms) VALUES (?, ?, ?, ?)",
			topic,
			id,
			json,
			nowMs,
		);
		this.sql.exec(
			"INSERT INTO _sundial_outbox_topics (topic, next_at_ms) VALUES (?, ?) ON CONFLICT (topic) DO NOTHING",
			topic,
			nowMs,
		);
	}

	/** When some topic is next due (unix ms), or null when nothing waits. */
	nextDueMs(): number | null {
		const row = this.sql
			.exec<{ next_at_ms: number }>("SELECT next_at_ms FROM _sundial_outbox_topics ORDER BY next_at_ms LIMIT 1")
			.toArray()[0];
		return row?.next_at_ms ?? null;
	}

	/** The topic due first, if one is due at `nowMs`. */
	dueTopic(nowMs: number): { topic: string; failures: number } | null {
		const row = this.sql
			.exec<{ topic: string; failures: number }>(
				"SELECT topic, failures FROM _sundial_outbox_topics WHERE next_at_ms <= ? ORDER BY next_at_ms LIMIT 1",
				nowMs,
			)
			.toArray()[0];
		return row ?? null;
	}

	/** The topic's oldest messages: at most `limit`, and no more than `maxBytes` of JSON (but at least one). */
	batch(topic: string, limit: number, maxBytes: number): OutboxRow[] {
		const sizes = this.sql
			.exec<{ seq: number; bytes: number }>(
				"SELECT seq, length(CAST(message AS BLOB)) AS bytes FROM _sundial_outbox WHERE topic = ? ORDER BY seq LIMIT ?",
				topic,
				limit,
			)
			.toArray();
		let taken = 0;
		let bytes = 0;
		for (const s of sizes) {
			if (taken > 0 && bytes + s.bytes > maxBytes) break;
			bytes += s.bytes;
			taken += 1;
		}
		if (taken === 0) return [];
		const lastSeq = (sizes[taken - 1] as { seq: number }).seq;
		return this.sql
			.exec<{ seq: number; id: string; message: string }>(
				"SELECT seq, id, message FROM _sundial_outbox WHERE topic = ? AND seq <= ? ORDER BY seq LIMIT ?",
				topic,
				lastSeq,
				taken,
			)
			.toArray();
	}

	/** Deletes the messages Sundial has; moves the refused ones to the dead table with its answer. */
	settle(stored: readonly number[], refused: readonly { seq: number; error: RefusalBody }[], nowMs: number): void {
		for (const r of refused) {
			this.sql.exec(
				`INSERT INTO _sundial_outbox_dead (topic, id, message, error, published_at_ms, dead_at_ms)
				 SELECT topic, id, message, ?, published_at_ms, ? FROM _sundial_outbox WHERE seq = ?`,
				JSON.stringify(r.error),
				nowMs,
				r.seq,
			);
		}
		const gone = [...stored, ...refused.map((r) => r.seq)];
		if (gone.length > 0) {
			this.sql.exec("DELETE FROM _sundial_outbox WHERE seq IN (SELECT value FROM json_each(?))", JSON.stringify(gone));
		}
	}

	/** After a send that went through: the topic's next batch is due at once, or the topic is done. */
	topicSent(topic: string, nowMs: number): void {
		const more = this.sql.exec("SELECT 1 FROM _sundial_outbox WHERE topic = ? LIMIT 1", topic).toArray().length > 0;
		if (more) {
			this.sql.exec(
				"UPDATE _sundial_outbox_topics SET next_at_ms = ?, failures = 0, last_error = NULL WHERE topic = ?",
				nowMs,
				topic,
			);
		} else {
			this.sql.exec("DELETE FROM _sundial_outbox_topics WHERE topic = ?", topic);
		}
	}

	/** After a failed send: the topic waits until `nextAtMs`, its messages in order. */
	topicFailed(topic: string, error: string, nextAtMs: number): void {
		this.sql.exec(
			"UPDATE _sundial_outbox_topics SET next_at_ms = ?, failures = failures + 1, last_error = ? WHERE topic = ?",
			nextAtMs,
			error.slice(0, 1000),
			topic,
		);
	}

	/** Makes a topic due at `nowMs` without counting a failure (e.g. to retry with a smaller batch). */
	topicDue(topic: string, nowMs: number): void {
		this.sql.exec("UPDATE _sundial_outbox_topics SET next_at_ms = ? WHERE topic = ?", nowMs, topic);
	}

	/** A value of the alarm bookkeeping, or null. */
	alarmValue(key: AlarmKey): number | null {
		const row = this.sql
			.exec<{ value: number | null }>("SELECT value FROM _sundial_outbox_meta WHERE key = ?", key)
			.toArray()[0];
		return row?.value ?? null;
	}

	/** Sets (or with null, clears) a value of the alarm bookkeeping. */
	setAlarmValue(key: AlarmKey, value: number | null): void {
		if (value === null) this.sql.exec("DELETE FROM _sundial_outbox_meta WHERE key = ?", key);
		else {
			this.sql.exec(
				"INSERT INTO _sundial_outbox_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
				key,
				value,
			);
		}
	}

	/** Counts and the 100 topics due first. */
	stats(): OutboxStats {
		const count = (table: string) => this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
		const topics = this.sql
			.exec<{ topic: string; next_at_ms: number; failures: number; last_error: string | null }>(
				"SELECT topic, next_at_ms, failures, last_error FROM _sundial_outbox_topics ORDER BY next_at_ms LIMIT 100",
			)
			.toArray()
			.map((t) => ({ topic: t.topic, nextAttemptAtMs: t.next_at_ms, failures: t.failures, lastError: t.last_error }));
		return { pending: count("_sundial_outbox"), dead: count("_sundial_outbox_dead"), topics };
	}

	/** Dead messages, oldest first, after the one with seq `afterSeq`. */
	dead(limit: number, afterSeq: number): DeadMessage[] {
		return this.sql
			.exec<{
				seq: number;
				topic: string;
				id: string;
				message: string;
				error: string;
				published_at_ms: number;
				dead_at_ms: number;
			}>(
				"SELECT seq, topic, id, message, error, published_at_ms, dead_at_ms FROM _sundial_outbox_dead WHERE seq > ? ORDER BY seq LIMIT ?",
				afterSeq,
				limit,
			)
			.toArray()
			.map((r) => ({
				seq: r.seq,
				id: r.id,
				topic: r.topic,
				message: JSON.parse(r.message) as OutboxMessage,
				error: JSON.parse(r.error) as RefusalBody,
				publishedAtMs: r.published_at_ms,
				deadAtMs: r.dead_at_ms,
			}));
	}

	/** Deletes dead messages by id (all of them for null); returns how many. */
	discardDead(ids: readonly string[] | null): number {
		if (ids === null) return this.sql.exec("DELETE FROM _sundial_outbox_dead").rowsWritten;
		return this.sql.exec(
			"DELETE FROM _sundial_outbox_dead WHERE id IN (SELECT value FROM json_each(?))",
			JSON.stringify(ids),
		).rowsWritten;
	}

	/** Moves dead messages back to the end of their topics' queues (same id and JSON); returns how many. */
	retryDead(ids: readonly string[], nowMs: number): number {
		const rows = this.sql
			.exec<{ seq: number; topic: string; id: string; message: string }>(
				"SELECT seq, topic, id, message FROM _sundial_outbox_dead WHERE id IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?",
				JSON.stringify(ids),
				ids.length,
			)
			.toArray();
		for (const r of rows) {
			this.insert(r.topic, r.id, r.message, nowMs);
			this.sql.exec("DELETE FROM _sundial_outbox_dead WHERE seq = ?", r.seq);
		}
		return rows.length;
	}
}
