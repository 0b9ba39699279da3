/** The topic object's SQL for recording push attempts' outcomes (the dispatcher's hot path). */

import { inChunks } from "./sql-chunks";
import { AttemptTally } from "./store-metrics";
import type { CallbackDraft, CallbackSink } from "./types";

/** The recorded result of one attempt. */
export type AttemptRecord = (
	| { kind: "delivered"; mid: number; sid: number; lease: number; status: number | null; atMs: number }
	| {
			kind: "retry";
			mid: number;
			sid: number;
			lease: number;
			status: number | null;
			error: string;
			nextAtMs: number;
			/** The failed answer as `/v2` shows it (JSON of StoredResponse), or absent. */
			response?: string | null;
	  }
	| {
			kind: "dead";
			mid: number;
			sid: number;
			lease: number;
			status: number | null;
			error: string;
			response?: string | null;
	  }
) & {
	/** The message's id and the attempt's number (1-based), for the live tail (tail-feed.ts). */
	messageId: string;
	attempt: number;
	/** How long after its due time the attempt's request left (metrics.ts); absent: none left. */
	lateMs?: number;
	/** `/v2` callbacks this attempt triggers: written with the record, in its transaction, or not at all. */
	callbacks?: CallbackDraft[];
};

/** One attempt of one delivery, as a key: `mid:sid:lease` (a later lease is another attempt). */
export const attemptKey = (a: { mid: number; sid: number; lease: number }) => `${a.mid}:${a.sid}:${a.lease}`;

/**
 * Records attempts' outcomes, a few statements per batch instead of one per attempt. Each is
 * skipped when its delivery moved on meanwhile (cancelled, rescheduled, re-leased); returns how
 * many were recorded. The callbacks of the records that were recorded go to `callbacks` (in the
 * caller's transaction, so a callback exists if and only if its attempt's outcome does), their
 * lateness and outcomes to the metrics (a few UPSERTs for the batch), and each recorded record to
 * `onRecorded` (the live tail and the log, after the writes).
 */
export function recordAttempts(
	sql: SqlStorage,
	records: readonly AttemptRecord[],
	nowMs: number,
	callbacks?: CallbackSink,
	onRecorded?: (r: AttemptRecord) => void,
): number {
	const delivered: SqlStorageValue[][] = [];
	const retry: SqlStorageValue[][] = [];
	const dead: SqlStorageValue[][] = [];
	for (const r of records) {
		if (r.kind === "delivered") delivered.push([r.mid, r.sid, r.lease, r.status, r.atMs]);
		else if (r.kind === "retry") retry.push([r.mid, r.sid, r.lease, r.status, r.error, r.nextAtMs, r.response ?? null]);
		else dead.push([r.mid, r.sid, r.lease, r.status, r.error, r.response ?? null]);
	}
	const applied = new Set<string>();
	updateLeased(
		sql,
		"state = 'delivered', next_at_ms = NULL, last_status = v.column4, last_error = NULL, delivered_at_ms = v.column5, last_response = NULL",
		delivered,
		nowMs,
		applied,
	);
	updateLeased(
		sql,
		"state = 'scheduled', next_at_ms = v.column6, last_status = v.column4, last_error = v.column5, last_response = v.column7",
		retry,
		nowMs,
		applied,
	);
	updateLeased(
		sql,
		"state = 'dead', next_at_ms = NULL, last_status = v.column4, last_error = v.column5, last_response = v.column6",
		dead,
		nowMs,
		applied,
	);
	const recorded = records.filter((r) => applied.has(attemptKey(r)));
	const drafts = recorded.flatMap((r) => r.callbacks ?? []);
	if (drafts.length > 0) {
		if (!callbacks) throw new Error("attempts with callbacks recorded without a callback outbox");
		callbacks.write(drafts, nowMs);
	}
	const tally = new AttemptTally();
	for (const r of recorded) {
		tally.outcome(r.sid, r.kind);
		if (r.lateMs !== undefined) tally.started(r.sid, r.lateMs);
	}
	tally.write(sql);
	if (onRecorded) for (const r of recorded) onRecorded(r);
	return applied.size;
}

/**
 * `UPDATE deliveries SET <set>` for each row `[mid, sid, lease, ...]` whose delivery is still in
 * flight under that lease; `v.columnN` in `set` is the row's N-th value. Adds `mid:sid:lease` of
 * each row changed to `applied` (with the lease, so an older attempt's record never passes for it).
 * Chunked to stay within 100 bound parameters per statement.
 */
function updateLeased(
	sql: SqlStorage,
	set: string,
	rows: readonly SqlStorageValue[][],
	nowMs: number,
	applied: Set<string>,
): void {
	inChunks(rows, (tuples, values) => {
		const changed = sql
			.exec<{ mid: number; sid: number; lease: number }>(
				`UPDATE deliveries SET ${set}, updated_at_ms = ?
				 FROM (VALUES ${tuples}) AS v
				 WHERE deliveries.mid = v.column1 AND deliveries.sid = v.column2
				   AND deliveries.lease = v.column3 AND deliveries.state = 'in_flight'
				 RETURNING mid, sid, lease`,
				nowMs,
				...values,
			)
			.toArray();
		for (const c of changed) applied.add(attemptKey(c));
	});
}
