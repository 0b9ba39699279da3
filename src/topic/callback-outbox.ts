/**
 * Where `/v2` callbacks are written (QSTASH.md "Callbacks"; docs/API.md "Callbacks"). A callback
 * is a `/v2` URL message of its own, so it lives in the system topic like every URL publish. It is
 * written in the SQLite transaction that records the attempt it reports (store.ts
 * `recordAttempts`), so no crash can lose one or write one twice:
 *
 * - in a partition of the system topic, the callback message is inserted right there, under an id
 *   chosen to route to this very partition (fnv1a32(id) mod partitions), so lookups by id find it;
 * - in a URL group's partition (another topic, whose subscriptions would all receive a message
 *   stored there), it goes to an outbox table in the same transaction. The alarm forwards outbox
 *   rows to the system topic and deletes them only once stored there. A row's message id is fixed
 *   when it is written, so a forward repeated after a crash finds the id stored and is a duplicate:
 *   nothing is scheduled twice (the system topic keeps ids 7 days, forwards retry within minutes).
 */

import type { AppEnv } from "../config";
import { newMessageId } from "../message-id";
import { partitionOf } from "./client/routing";
import { publishManyToSystemTopic, SYSTEM_TOPIC } from "./client/system-topic";
import { insertMessages } from "./store-publish";
import type { CallbackDraft, CallbackSink, TopicConfig } from "./types";

/** Outbox rows one forward reads (each up to ~1.4 MB: the source body is in it, base64). */
const FORWARD_BATCH = 16;
/** Longest wait before a failed forward is tried again. */
const MAX_FORWARD_BACKOFF_MS = 300_000;

export class CallbackOutbox implements CallbackSink {
	constructor(
		private readonly sql: SqlStorage,
		private readonly topic: () => TopicConfig | null,
	) {}

	write(drafts: readonly CallbackDraft[], nowMs: number): void {
		const topic = this.topic();
		if (!topic) throw new Error("callbacks written where there is no topic");
		if (topic.name === SYSTEM_TOPIC) {
			const here = drafts.map((d) => ({ id: idInPartition(topic, nowMs), ...d }));
			insertMessages(this.sql, here, nowMs);
			return;
		}
		for (const d of drafts) {
			this.sql.exec(
				"INSERT INTO callback_outbox (id, message, next_at_ms) VALUES (?, ?, ?)",
				newMessageId(nowMs),
				JSON.stringify(d),
				nowMs,
			);
		}
	}

	/** When the alarm must next forward outbox rows, or null when the outbox is empty. */
	nextAtMs(): number | null {
		const row = this.sql
			.exec<{ next_at_ms: number }>("SELECT next_at_ms FROM callback_outbox ORDER BY next_at_ms LIMIT 1")
			.toArray()[0];
		return row ? row.next_at_ms : null;
	}

	/**
	 * Forwards a batch of due outbox rows to the system topic; a row is deleted once stored there
	 * (or found there: a repeat), else tried again later. True when more rows are due now.
	 */
	async forward(env: AppEnv, nowMs: number): Promise<boolean> {
		const rows = this.sql
			.exec<{ seq: number; id: string; message: string; tries: number }>(
				"SELECT seq, id, message, tries FROM callback_outbox WHERE next_at_ms <= ? ORDER BY next_at_ms LIMIT ?",
				nowMs,
				FORWARD_BATCH,
			)
			.toArray();
		if (rows.length === 0) return false;
		const messages = rows.map((r) => ({ id: r.id, ...(JSON.parse(r.message) as CallbackDraft) }));
		let stored: boolean[];
		try {
			const results = await publishManyToSystemTopic(env, messages);
			stored = rows.map((_, i) => {
				const result = results[i];
				return result !== undefined && !("error" in result);
			});
		} catch (error) {
			console.error("sundial: forwarding callbacks failed; retrying later", error);
			stored = rows.map(() => false);
		}
		const afterMs = Date.now();
		for (const [i, r] of rows.entries()) {
			if (stored[i]) this.sql.exec("DELETE FROM callback_outbox WHERE seq = ?", r.seq);
			else {
				const waitMs = Math.min(MAX_FORWARD_BACKOFF_MS, 1000 * 2 ** r.tries);
				this.sql.exec(
					"UPDATE callback_outbox SET tries = tries + 1, next_at_ms = ? WHERE seq = ?",
					afterMs + waitMs,
					r.seq,
				);
			}
		}
		return rows.length === FORWARD_BATCH && stored.every(Boolean);
	}
}

/** A fresh message id that routes to this partition of the topic. */
function idInPartition(topic: TopicConfig, nowMs: number): string {
	for (;;) {
		const id = newMessageId(nowMs);
		if (partitionOf(id, topic.partitions) === topic.partition) return id;
	}
}
