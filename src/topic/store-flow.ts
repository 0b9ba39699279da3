import { KEY_GATE, type KeyGate } from "./key-limits";
import { type ClaimedDelivery, DUE_COLUMNS, type DueRow, markInFlight } from "./store-claim";

/**
 * `d` (of message `m`) may go now for its ordered subscription: no earlier message of its key (due
 * time, then publish order) has a delivery of that subscription scheduled or in flight, and no
 * message of the key is in flight to it at all (one published or moved earlier, or redriven, while
 * a later one is on the wire). Both are one probe of the index of pending keyed deliveries
 * (schema v7), however many messages the key has open.
 */
export const KEY_HEAD = `(m.key IS NULL OR (NOT EXISTS (
	SELECT 1 FROM deliveries d2
	WHERE d2.sid = d.sid AND d2.key = m.key AND d2.state IN ('scheduled', 'in_flight')
	  AND (d2.key_at_ms, d2.mid) < (m.deliver_at_ms, m.mid))
	AND NOT EXISTS (
	SELECT 1 FROM deliveries d3
	WHERE d3.sid = d.sid AND d3.key = m.key AND d3.state IN ('scheduled', 'in_flight') AND d3.state = 'in_flight')))`;

/** The SQL of flow control (flow.ts): in-flight counts, rate windows and per-subscription claims. */
export class FlowStore {
	constructor(private readonly sql: SqlStorage) {}

	/** Attempts in flight by subscription (kept by triggers: no scan). */
	inFlightBySub(): Map<number, number> {
		const rows = this.sql
			.exec<{ sid: number; n: number }>("SELECT sid, n FROM delivery_counts WHERE state = 'in_flight'")
			.toArray();
		return new Map(rows.map((r) => [r.sid, r.n]));
	}

	startedSince(sid: number, sinceMs: number): number {
		const [row] = this.sql
			.exec<{ n: number }>("SELECT COUNT(*) AS n FROM rate_starts WHERE sid = ? AND at_ms > ?", sid, sinceMs)
			.toArray();
		return row?.n ?? 0;
	}

	oldestStartSince(sid: number, sinceMs: number): number | null {
		const [row] = this.sql
			.exec<{ at: number | null }>("SELECT MIN(at_ms) AS at FROM rate_starts WHERE sid = ? AND at_ms > ?", sid, sinceMs)
			.toArray();
		return row?.at ?? null;
	}

	/** Records attempt starts of a rate-limited subscription and forgets those at or before `forgetBeforeMs`. */
	recordStarts(sid: number, startsMs: readonly number[], forgetBeforeMs: number): void {
		this.sql.exec("DELETE FROM rate_starts WHERE sid = ? AND at_ms <= ?", sid, forgetBeforeMs);
		for (let i = 0; i < startsMs.length; i += 90) {
			const chunk = startsMs.slice(i, i + 90);
			this.sql.exec(
				`INSERT INTO rate_starts (sid, at_ms) VALUES ${chunk.map(() => `(${sid}, ?)`).join(", ")}`,
				...chunk,
			);
		}
	}

	/** Gives one start of `sid` recorded as `fromMs` the time `atMs` (starts are interchangeable). */
	dateStart(sid: number, fromMs: number, atMs: number): void {
		this.sql.exec(
			"UPDATE rate_starts SET at_ms = ? WHERE rowid = (SELECT rowid FROM rate_starts WHERE sid = ? AND at_ms = ? LIMIT 1)",
			atMs,
			sid,
			fromMs,
		);
	}

	/** Dates every start still marked `fromMs` (in flight) at `atMs`: their instance is gone. */
	dateAllStarts(fromMs: number, atMs: number): void {
		this.sql.exec("UPDATE rate_starts SET at_ms = ? WHERE at_ms = ?", atMs, fromMs);
	}

	/**
	 * Up to `limit` scheduled deliveries of one subscription due by `dueByMs`, earliest first. With
	 * `ordered`, a keyed message only when it is its key's head for the subscription: no open message
	 * of the key before it (due time, then publish order) has a delivery still scheduled or in flight.
	 * With a key gate, none of a key that may start nothing now (key-limits.ts).
	 */
	dueOf(sid: number, dueByMs: number, limit: number, ordered = false, gate: KeyGate | null = null): DueRow[] {
		return this.sql
			.exec<DueRow>(
				`SELECT ${DUE_COLUMNS}
				 FROM deliveries d JOIN messages m ON m.mid = d.mid
				 WHERE d.sid = ? AND d.state = 'scheduled' AND d.next_at_ms IS NOT NULL AND d.next_at_ms <= ?
				 ${ordered ? `AND ${KEY_HEAD}` : ""} ${gate ? `AND ${KEY_GATE}` : ""}
				 ORDER BY d.next_at_ms LIMIT ?`,
				sid,
				dueByMs,
				...(gate ? gate.bindings : []),
				limit,
			)
			.toArray();
	}

	/** Marks claimed rows in flight (store-claim.ts). */
	mark(rows: readonly DueRow[], leaseUntilMs: (sid: number) => number, nowMs: number): ClaimedDelivery[] {
		return markInFlight(this.sql, rows, leaseUntilMs, nowMs);
	}

	/** The earliest due scheduled delivery of each subscription. */
	earliestDueBySub(): Map<number, number> {
		const rows = this.sql
			.exec<{ sid: number; due: number }>(
				`SELECT s.sid, (SELECT d.next_at_ms FROM deliveries d
				   WHERE d.sid = s.sid AND d.state = 'scheduled' AND d.next_at_ms IS NOT NULL
				   ORDER BY d.next_at_ms LIMIT 1) AS due
				 FROM subscriptions s WHERE s.paused = 0 AND s.type != 'pull'`,
			)
			.toArray();
		return new Map(rows.filter((r) => r.due !== null).map((r) => [r.sid, r.due]));
	}

	/**
	 * The earliest due scheduled delivery of a subscription that may go when it is due: its key's
	 * head (`ordered`), of a key the gate lets through; or null.
	 */
	earliestGatedDue(sid: number, ordered: boolean, gate: KeyGate | null): number | null {
		const [row] = this.sql
			.exec<{ due: number }>(
				`SELECT d.next_at_ms AS due FROM deliveries d JOIN messages m ON m.mid = d.mid
				 WHERE d.sid = ? AND d.state = 'scheduled' AND d.next_at_ms IS NOT NULL
				 ${ordered ? `AND ${KEY_HEAD}` : ""} ${gate ? `AND ${KEY_GATE}` : ""}
				 ORDER BY d.next_at_ms LIMIT 1`,
				sid,
				...(gate ? gate.bindings : []),
			)
			.toArray();
		return row?.due ?? null;
	}

	/** The earliest end of a lease in flight (a push attempt's, or a pull consumer's), or null. */
	earliestLeaseEnd(): number | null {
		const [row] = this.sql
			.exec<{ at: number | null }>(
				`SELECT MIN((SELECT d.next_at_ms FROM deliveries d
				   WHERE d.sid = s.sid AND d.state = 'in_flight' AND d.next_at_ms IS NOT NULL
				   ORDER BY d.next_at_ms LIMIT 1)) AS at
				 FROM subscriptions s`,
			)
			.toArray();
		return row?.at ?? null;
	}

	/** How many scheduled deliveries of a subscription are due by `nowMs`. */
	dueCount(sid: number, nowMs: number): number {
		const [row] = this.sql
			.exec<{ n: number }>(
				"SELECT COUNT(*) AS n FROM deliveries WHERE sid = ? AND state = 'scheduled' AND next_at_ms <= ?",
				sid,
				nowMs,
			)
			.toArray();
		return row?.n ?? 0;
	}
}
