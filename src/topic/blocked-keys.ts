import { KEY_GATE, type KeyGate } from "./key-limits";
import type { SubscriptionRow } from "./store";
import { KEY_HEAD } from "./store-flow";
import { KEY_FREE } from "./store-pull";

/**
 * The keys a subscription has due deliveries of, none of which may go now (README "Flow control":
 * "why is nothing arriving"): held by the key's limits, or, for an ordered subscription, waiting
 * behind the key's head (a retry, or an attempt in flight), or, for a `/v2` queue, behind its first
 * `parallelism` pending messages. Read on demand, never on a hot path:
 * one pass over the subscription's due keyed deliveries in this partition.
 */

/** Why a key's due deliveries wait. */
export type BlockedBy = "paused" | "parallelism" | "rate" | "ordering" | "queue";

export interface BlockedKey {
	key: string;
	blockedBy: BlockedBy;
	/** Its due deliveries waiting. */
	waiting: number;
	/** The earliest due time among them. */
	oldestDueAtMs: number;
	/** The key's first pending message for the subscription: what it waits for. */
	head: {
		id: string;
		state: string;
		attempts: number;
		nextAttemptAtMs: number | null;
		lastError: string | null;
	} | null;
}

export function blockedKeys(
	sql: SqlStorage,
	sub: SubscriptionRow,
	gate: KeyGate | null,
	nowMs: number,
	afterKey: string | null,
	limit: number,
): BlockedKey[] {
	const ordered = sub.config.ordering === "key";
	if (!ordered && !gate) return [];
	const passable = [ordered ? (sub.config.type === "pull" ? KEY_FREE : KEY_HEAD) : null, gate ? KEY_GATE : null]
		.filter((c) => c !== null)
		.join(" AND ");
	const rows = sql
		.exec<{ key: string; waiting: number; oldest: number }>(
			`SELECT m.key AS key, COUNT(*) AS waiting, MIN(d.next_at_ms) AS oldest
			 FROM deliveries d JOIN messages m ON m.mid = d.mid
			 WHERE d.sid = ? AND d.state = 'scheduled' AND d.next_at_ms <= ? AND m.key IS NOT NULL AND m.key > ?
			 GROUP BY m.key
			 HAVING SUM(CASE WHEN ${passable} THEN 1 ELSE 0 END) = 0
			 ORDER BY m.key LIMIT ?`,
			sub.sid,
			nowMs,
			afterKey ?? "",
			...(gate ? gate.bindings : []),
			limit,
		)
		.toArray();
	return rows.map((r) => {
		const head = sql
			.exec<{ id: string; state: string; attempts: number; next_at_ms: number | null; last_error: string | null }>(
				`SELECT m.id, d.state, d.attempts, d.next_at_ms, d.last_error
				 FROM messages m JOIN deliveries d ON d.mid = m.mid AND d.sid = ?
				 WHERE m.key = ? AND m.finished_at_ms IS NULL AND d.state IN ('scheduled', 'in_flight')
				 ORDER BY m.deliver_at_ms, m.mid LIMIT 1`,
				sub.sid,
				r.key,
			)
			.toArray()[0];
		return {
			key: r.key,
			blockedBy: gate?.held.get(r.key) ?? (gate?.queues.has(r.key) ? "queue" : "ordering"),
			waiting: r.waiting,
			oldestDueAtMs: r.oldest,
			head: head
				? {
						id: head.id,
						state: head.state,
						attempts: head.attempts,
						nextAttemptAtMs: head.next_at_ms,
						lastError: head.last_error,
					}
				: null,
		};
	});
}
