/** The topic object's SQL for metrics (schema v10): lateness buckets, outcome counters, failed attempts. */

import {
	type AttemptOutcome,
	emptyLateness,
	LATENESS_BUCKETS,
	type LatenessHistogram,
	latenessBucket,
	noAttempts,
} from "./metrics";
import { inChunks } from "./sql-chunks";
import type { FailedAttempt } from "./types";

type Row = Record<string, SqlStorageValue>;

/** INSERTs `rows` as a few multi-row statements (each within 100 bound parameters). */
function insertRows(sql: SqlStorage, head: string, rows: SqlStorageValue[][], tail: string): void {
	inChunks(rows, (tuples, values) => sql.exec(`${head} ${tuples} ${tail}`, ...values));
}

/**
 * Attempts' lateness and outcomes gathered in memory while one transaction records them; `write`
 * adds them to the counters with one UPSERT per table (per 24 groups), not one per attempt.
 */
export class AttemptTally {
	/** By `sid * LATENESS_BUCKETS + bucket`: [sid, bucket, count, summed ms]. */
	private readonly late = new Map<number, [number, number, number, number]>();
	/** By `${sid}:${outcome}`. */
	private readonly ended = new Map<string, [number, AttemptOutcome, number]>();

	/** An attempt's request left `lateMs` after the attempt was due. */
	started(sid: number, lateMs: number): void {
		const ms = Math.max(0, Math.round(lateMs));
		const bucket = latenessBucket(ms);
		const key = sid * LATENESS_BUCKETS + bucket;
		const row = this.late.get(key);
		if (row) {
			row[2] += 1;
			row[3] += ms;
		} else this.late.set(key, [sid, bucket, 1, ms]);
	}

	/** An attempt ended with `outcome`. */
	outcome(sid: number, outcome: AttemptOutcome): void {
		const key = `${sid}:${outcome}`;
		const row = this.ended.get(key);
		if (row) row[2] += 1;
		else this.ended.set(key, [sid, outcome, 1]);
	}

	/** Adds what was tallied to the stored counters (in the caller's transaction). */
	write(sql: SqlStorage): void {
		if (this.late.size > 0) {
			insertRows(
				sql,
				"INSERT INTO lateness (sid, bucket, n, sum_ms) VALUES",
				[...this.late.values()],
				"ON CONFLICT (sid, bucket) DO UPDATE SET n = n + excluded.n, sum_ms = sum_ms + excluded.sum_ms",
			);
		}
		if (this.ended.size > 0) {
			insertRows(
				sql,
				"INSERT INTO attempt_counts (sid, outcome, n) VALUES",
				[...this.ended.values()],
				"ON CONFLICT (sid, outcome) DO UPDATE SET n = n + excluded.n",
			);
		}
		this.late.clear();
		this.ended.clear();
	}
}

/** Reads of the metrics tables; bounded (at most 100 subscriptions per topic). */
export class MetricsStore {
	constructor(private readonly sql: SqlStorage) {}

	private rows<T extends Row>(query: string, ...bindings: SqlStorageValue[]): T[] {
		return this.sql.exec<T>(query, ...bindings).toArray();
	}

	/** Each subscription's lateness histogram (subscriptions without attempts are absent). */
	latenessBySid(): Map<number, LatenessHistogram> {
		const out = new Map<number, LatenessHistogram>();
		const rows = this.rows<{ sid: number; bucket: number; n: number; sum_ms: number }>(
			"SELECT sid, bucket, n, sum_ms FROM lateness LIMIT 10000",
		);
		for (const r of rows) {
			const h = out.get(r.sid) ?? emptyLateness();
			h.counts[r.bucket] = r.n;
			h.sumMs += r.sum_ms;
			out.set(r.sid, h);
		}
		return out;
	}

	/** Each subscription's attempts by outcome (subscriptions without attempts are absent). */
	attemptsBySid(): Map<number, Record<AttemptOutcome, number>> {
		const out = new Map<number, Record<AttemptOutcome, number>>();
		const rows = this.rows<{ sid: number; outcome: AttemptOutcome; n: number }>(
			"SELECT sid, outcome, n FROM attempt_counts LIMIT 10000",
		);
		for (const r of rows) {
			const a = out.get(r.sid) ?? noAttempts();
			a[r.outcome] = r.n;
			out.set(r.sid, a);
		}
		return out;
	}

	/** The failed attempts kept of a message's deliveries, by subscription, oldest first. */
	failuresOf(mid: number): Map<number, FailedAttempt[]> {
		const out = new Map<number, FailedAttempt[]>();
		const rows = this.rows<{
			sid: number;
			attempt: number;
			at_ms: number;
			outcome: "retry" | "dead";
			status: number | null;
			error: string | null;
		}>(
			"SELECT sid, attempt, at_ms, outcome, status, error FROM attempt_failures WHERE mid = ? ORDER BY sid, seq LIMIT 5000",
			mid,
		);
		for (const r of rows) {
			const list = out.get(r.sid) ?? [];
			list.push({ attempt: r.attempt, atMs: r.at_ms, outcome: r.outcome, status: r.status, error: r.error });
			out.set(r.sid, list);
		}
		return out;
	}

	/** Forgets a removed subscription's counters (a new one of the same name starts from zero). */
	dropSubscription(sid: number): void {
		this.sql.exec("DELETE FROM lateness WHERE sid = ?", sid);
		this.sql.exec("DELETE FROM attempt_counts WHERE sid = ?", sid);
	}
}
