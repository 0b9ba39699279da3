/** The topic object's SQL for pull subscriptions: lease due deliveries, settle leases. */

import { KEY_GATE, type KeyGate } from "./key-limits";
import { type ClaimedDelivery, DUE_COLUMNS, type DueRow, markInFlight } from "./store-claim";

type Row = Record<string, SqlStorageValue>;

/** No message of `m`'s key has a delivery of `d`'s subscription leased (in flight): one index probe (schema v7). */
export const KEY_FREE = `(m.key IS NULL OR NOT EXISTS (
	SELECT 1 FROM deliveries d2
	WHERE d2.sid = d.sid AND d2.key = m.key AND d2.state IN ('scheduled', 'in_flight') AND d2.state = 'in_flight'))`;

/** A delivery leased to a pull consumer, with what it receives. */
export type LeasedRow = ClaimedDelivery;

export class PullStore {
	constructor(private readonly sql: SqlStorage) {}

	private rows<T extends Row>(query: string, ...bindings: SqlStorageValue[]): T[] {
		return this.sql.exec<T>(query, ...bindings).toArray();
	}

	/**
	 * Leases up to `limit` due deliveries of a subscription until `untilMs`, earliest due first.
	 * `ordered` (`ordering: "key"`): a keyed message only while no message of its key is leased,
	 * and one per key in a batch (then the earliest by due time and publish order).
	 */
	lease(
		sid: number,
		nowMs: number,
		untilMs: number,
		limit: number,
		ordered = false,
		gate: KeyGate | null = null,
	): LeasedRow[] {
		const due = this.rows<DueRow>(
			`SELECT ${DUE_COLUMNS}
			 FROM deliveries d JOIN messages m ON m.mid = d.mid
			 WHERE d.sid = ? AND d.state = 'scheduled' AND d.next_at_ms <= ?
			 ${ordered ? `AND ${KEY_FREE}` : ""} ${gate ? `AND ${KEY_GATE}` : ""}
			 ORDER BY ${ordered ? "m.deliver_at_ms, m.mid" : "d.next_at_ms"} LIMIT ?`,
			sid,
			nowMs,
			...(gate ? gate.bindings : []),
			// Ordered or gated: read past the later messages of each key, which the batch then leaves out.
			ordered || gate ? Math.max(limit * 10, 1000) : limit,
		);
		const keys = new Set<string>();
		const inOrder = ordered
			? due.filter((r) => {
					if (r.key === null) return true;
					if (keys.has(r.key)) return false;
					keys.add(r.key);
					return true;
				})
			: due;
		const chosen = (gate ? gate.take(inOrder) : inOrder).slice(0, limit);
		return markInFlight(this.sql, chosen, () => untilMs, nowMs);
	}

	/**
	 * The due time of a subscription's earliest scheduled delivery that a lease could take when due
	 * (not of a key held by its limits, nor, `ordered`, of a key with a lease out); null while the
	 * subscription is paused. A time in the past for a delivery nothing may lease would re-arm the
	 * alarm at once, over and over.
	 */
	nextScheduledAtMs(sid: number, ordered = false, gate: KeyGate | null = null): number | null {
		return (
			this.rows<{ next_at_ms: number }>(
				`SELECT d.next_at_ms FROM deliveries d JOIN messages m ON m.mid = d.mid
				 WHERE d.sid = ? AND d.state = 'scheduled'
				 AND EXISTS (SELECT 1 FROM subscriptions WHERE sid = ? AND paused = 0)
				 ${ordered ? `AND ${KEY_FREE}` : ""} ${gate ? `AND ${KEY_GATE}` : ""}
				 ORDER BY d.next_at_ms LIMIT 1`,
				sid,
				sid,
				...(gate ? gate.bindings : []),
			)[0]?.next_at_ms ?? null
		);
	}

	/** Attempts used by a live lease, or null when the lease is not current. */
	attemptsOf(sid: number, mid: number, lease: number): number | null {
		return (
			this.rows<{ attempts: number }>(
				"SELECT attempts FROM deliveries WHERE mid = ? AND sid = ? AND state = 'in_flight' AND lease = ?",
				mid,
				sid,
				lease,
			)[0]?.attempts ?? null
		);
	}

	/** The message id and attempt of a lease (current or just settled), for the live tail. */
	leaseRef(sid: number, mid: number, lease: number): { messageId: string; attempt: number } | null {
		const row = this.rows<{ id: string; attempts: number }>(
			"SELECT m.id, d.attempts FROM deliveries d JOIN messages m ON m.mid = d.mid WHERE d.mid = ? AND d.sid = ? AND d.lease = ?",
			mid,
			sid,
			lease,
		)[0];
		return row ? { messageId: row.id, attempt: row.attempts } : null;
	}

	/** Acks a live lease: delivered. */
	ack(sid: number, mid: number, lease: number, nowMs: number): boolean {
		return (
			this.sql.exec(
				`UPDATE deliveries SET state = 'delivered', next_at_ms = NULL, last_status = NULL, last_error = NULL,
				 delivered_at_ms = ?, updated_at_ms = ? WHERE mid = ? AND sid = ? AND state = 'in_flight' AND lease = ?`,
				nowMs,
				nowMs,
				mid,
				sid,
				lease,
			).rowsWritten > 0
		);
	}

	/** Ends a live lease unacked: scheduled again at `atMs`, or dead when `atMs` is null. */
	release(sid: number, mid: number, lease: number, atMs: number | null, error: string, nowMs: number): boolean {
		const cursor =
			atMs === null
				? this.sql.exec(
						`UPDATE deliveries SET state = 'dead', next_at_ms = NULL, last_error = ?, updated_at_ms = ?
						 WHERE mid = ? AND sid = ? AND state = 'in_flight' AND lease = ?`,
						error,
						nowMs,
						mid,
						sid,
						lease,
					)
				: this.sql.exec(
						`UPDATE deliveries SET state = 'scheduled', next_at_ms = ?, last_error = ?, updated_at_ms = ?
						 WHERE mid = ? AND sid = ? AND state = 'in_flight' AND lease = ?`,
						atMs,
						error,
						nowMs,
						mid,
						sid,
						lease,
					);
		return cursor.rowsWritten > 0;
	}

	/**
	 * Gives a live lease back as if it had never been taken: scheduled again at `atMs`, the attempt
	 * not counted (a receive leased more than it could return).
	 */
	unlease(sid: number, mid: number, lease: number, atMs: number, nowMs: number): boolean {
		return (
			this.sql.exec(
				`UPDATE deliveries SET state = 'scheduled', next_at_ms = ?, attempts = attempts - 1, updated_at_ms = ?
				 WHERE mid = ? AND sid = ? AND state = 'in_flight' AND lease = ?`,
				atMs,
				nowMs,
				mid,
				sid,
				lease,
			).rowsWritten > 0
		);
	}

	/** Moves a live lease's end. */
	extend(sid: number, mid: number, lease: number, untilMs: number, nowMs: number): boolean {
		return (
			this.sql.exec(
				`UPDATE deliveries SET next_at_ms = ?, updated_at_ms = ?
				 WHERE mid = ? AND sid = ? AND state = 'in_flight' AND lease = ?`,
				untilMs,
				nowMs,
				mid,
				sid,
				lease,
			).rowsWritten > 0
		);
	}

	/** The topic's receipt key, created on first use. */
	receiptKey(make: () => string): string {
		const row = this.rows<{ value: string }>("SELECT value FROM meta WHERE key = 'receipt_key'")[0];
		if (row) return row.value;
		const key = make();
		this.sql.exec("INSERT INTO meta (key, value) VALUES ('receipt_key', ?)", key);
		return key;
	}
}
