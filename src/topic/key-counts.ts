import { RATE_MARGIN_MS, STARTED_IN_FLIGHT } from "./rate-window";
import type { KeyLimitsView } from "./types";

/**
 * What the limits of message keys hold now, read from a partition's SQLite (key-limits.ts): attempts
 * in flight and rate-window starts by key, and a key's view for the API.
 */

export interface LimitRow extends Record<string, SqlStorageValue> {
	key: string;
	parallelism: number | null;
	rate_limit: number | null;
	period_ms: number | null;
	fifo: number;
	paused: number;
	pinned_parallelism: number;
	pinned_rate: number;
	rate_reset_at_ms: number;
	created_at_ms: number;
	updated_at_ms: number;
}

export const rateOf = (r: LimitRow) =>
	r.rate_limit !== null && r.period_ms !== null ? { limit: r.rate_limit, periodMs: r.period_ms } : null;

function rows<T extends Record<string, SqlStorageValue>>(
	sql: SqlStorage,
	query: string,
	...bindings: SqlStorageValue[]
): T[] {
	return sql.exec<T>(query, ...bindings).toArray();
}

/** A key's row, or null when it has no limits. */
export function keyRow(sql: SqlStorage, key: string): LimitRow | null {
	return rows<LimitRow>(sql, "SELECT * FROM key_limits WHERE key = ?", key)[0] ?? null;
}

/** Attempts in flight by key, for keys with limits (push attempts and pull leases). */
export function inFlightByKey(sql: SqlStorage, keys?: readonly string[]): Map<string, number> {
	const found = rows<{ key: string; n: number }>(
		sql,
		`SELECT m.key AS key, COUNT(*) AS n FROM subscriptions s
		 JOIN deliveries d ON d.sid = s.sid AND d.state = 'in_flight'
		 JOIN messages m ON m.mid = d.mid
		 WHERE m.key IS NOT NULL AND m.key IN (${keys ? "SELECT value FROM json_each(?)" : "SELECT key FROM key_limits"})
		 GROUP BY m.key`,
		...(keys ? [JSON.stringify(keys)] : []),
	);
	return new Map(found.map((r) => [r.key, r.n]));
}

/** Starts inside each rate-limited key's current window: how many, and the oldest. */
export function startsByKey(sql: SqlStorage, nowMs: number, key?: string): Map<string, { n: number; oldest: number }> {
	const found = rows<{ key: string; n: number; oldest: number }>(
		sql,
		`SELECT s.key AS key, COUNT(*) AS n, MIN(s.at_ms) AS oldest FROM key_limits k JOIN key_starts s ON s.key = k.key
		 WHERE k.rate_limit IS NOT NULL ${key === undefined ? "" : "AND k.key = ?"}
		   AND s.at_ms > MAX(k.rate_reset_at_ms - 1, ? - k.period_ms - ${RATE_MARGIN_MS})
		 GROUP BY s.key`,
		...(key === undefined ? [] : [key]),
		nowMs,
	);
	return new Map(found.map((r) => [r.key, { n: r.n, oldest: r.oldest }]));
}

/** A key's limits and what they hold now, or null when it has none. */
export function keyView(sql: SqlStorage, key: string, nowMs: number): KeyLimitsView | null {
	const r = keyRow(sql, key);
	return r ? toView(sql, r, nowMs) : null;
}

/** Keys with limits after `afterKey` in key order (a page), with their state. */
export function listKeys(
	sql: SqlStorage,
	afterKey: string | null,
	limit: number,
	nowMs: number,
	fifo = false,
): KeyLimitsView[] {
	return rows<LimitRow>(
		sql,
		"SELECT * FROM key_limits WHERE key > ? AND fifo = ? ORDER BY key LIMIT ?",
		afterKey ?? "",
		fifo ? 1 : 0,
		limit,
	).map((r) => toView(sql, r, nowMs));
}

function toView(sql: SqlStorage, r: LimitRow, nowMs: number): KeyLimitsView {
	const inFlight = inFlightByKey(sql, [r.key]).get(r.key) ?? 0;
	// Waiting: open messages with a delivery still scheduled (a dead one waits for nothing).
	const waiting =
		rows<{ n: number }>(
			sql,
			`SELECT COUNT(*) AS n FROM messages m WHERE m.key = ? AND m.finished_at_ms IS NULL
			 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.mid = m.mid AND d.state = 'scheduled')`,
			r.key,
		)[0]?.n ?? 0;
	const rate = rateOf(r);
	const started = rate ? startsByKey(sql, nowMs, r.key).get(r.key) : undefined;
	return {
		key: r.key,
		parallelism: r.parallelism,
		rate,
		paused: r.paused === 1,
		fifo: r.fifo === 1,
		pinned: { parallelism: r.pinned_parallelism === 1, rate: r.pinned_rate === 1 },
		waiting,
		inFlight,
		rateCount: started?.n ?? 0,
		ratePeriodStartMs: rate
			? Math.max(r.rate_reset_at_ms, started && started.oldest < STARTED_IN_FLIGHT ? started.oldest : nowMs)
			: null,
		createdAtMs: r.created_at_ms,
		updatedAtMs: r.updated_at_ms,
	};
}
