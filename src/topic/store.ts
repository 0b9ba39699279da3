import { type ClaimedDelivery, DUE_COLUMNS, type DueRow, markInFlight } from "./store-claim";
import { AttemptTally, MetricsStore } from "./store-metrics";
import { insertMessages } from "./store-publish";
import { type AttemptRecord, recordAttempts } from "./store-record";
import {
	type CallbackSink,
	DELIVERY_STATES,
	type DeliveryState,
	type NewMessage,
	type PublishOutcome,
	type SubscriptionConfig,
	type TopicConfig,
} from "./types";

/** A subscription row as the object keeps it in memory. */
export interface SubscriptionRow {
	sid: number;
	name: string;
	config: SubscriptionConfig;
	secret: string | null;
	createdAtMs: number;
	updatedAtMs: number;
}

export type { AttemptRecord, ClaimedDelivery };

type Row = Record<string, SqlStorageValue>;

/** A lease that ended without an outcome: scheduled again at `nextAtMs`, or dead (null). */
export interface ExpiredLease {
	mid: number;
	sid: number;
	lease: number;
	messageId: string;
	attempts: number;
	nextAtMs: number | null;
}

/** A message's columns a `/v2` callback reports. */
export interface CallbackSourceRow extends Row {
	id: string;
	body: string;
	headers: string | null;
	options: string | null;
	deliver_at_ms: number;
	published_at_ms: number;
}

/**
 * Runs an UPDATE or DELETE and returns how many rows it changed. (A cursor's `rowsWritten` is no
 * such count: it also counts index entries and the writes of triggers.)
 */
export function changedRows(sql: SqlStorage, query: string, ...bindings: SqlStorageValue[]): number {
	return sql.exec(`${query} RETURNING 1`, ...bindings).toArray().length;
}

/** Every SQL statement of a topic object. Synchronous: callers decide the transaction. */
export class TopicStore {
	private readonly sql: SqlStorage;
	/** The metrics tables (schema v10): lateness and attempts by outcome. */
	readonly metrics: MetricsStore;
	constructor(private readonly storage: DurableObjectStorage) {
		this.sql = storage.sql;
		this.metrics = new MetricsStore(storage.sql);
	}

	private rows<T extends Row>(query: string, ...bindings: SqlStorageValue[]): T[] {
		return this.sql.exec<T>(query, ...bindings).toArray();
	}

	/** Runs `fn` in one SQLite transaction; a throw rolls everything back. */
	transaction<T>(fn: () => T): T {
		return this.storage.transactionSync(fn);
	}

	getTopic(): TopicConfig | null {
		const row = this.rows<{ value: string }>("SELECT value FROM meta WHERE key = 'topic'")[0];
		return row ? (JSON.parse(row.value) as TopicConfig) : null;
	}

	putTopic(topic: TopicConfig): void {
		this.sql.exec(
			"INSERT INTO meta (key, value) VALUES ('topic', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			JSON.stringify(topic),
		);
	}

	listSubscriptions(): SubscriptionRow[] {
		return this.rows<{
			sid: number;
			name: string;
			config: string;
			secret: string | null;
			created_at_ms: number;
			updated_at_ms: number;
		}>(
			"SELECT sid, name, config, secret, created_at_ms, updated_at_ms FROM subscriptions ORDER BY name LIMIT 1000",
		).map((r) => ({
			sid: r.sid,
			name: r.name,
			config: JSON.parse(r.config) as SubscriptionConfig,
			secret: r.secret,
			createdAtMs: r.created_at_ms,
			updatedAtMs: r.updated_at_ms,
		}));
	}

	insertSubscription(name: string, config: SubscriptionConfig, secret: string | null, nowMs: number): number {
		const row = this.rows<{ sid: number }>(
			`INSERT INTO subscriptions (name, type, config, secret, paused, created_at_ms, updated_at_ms)
			 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING sid`,
			name,
			config.type,
			JSON.stringify(config),
			secret,
			config.paused ? 1 : 0,
			nowMs,
			nowMs,
		)[0] as { sid: number };
		for (const state of DELIVERY_STATES) {
			this.sql.exec("INSERT INTO delivery_counts (sid, state, n) VALUES (?, ?, 0)", row.sid, state);
		}
		return row.sid;
	}

	updateSubscription(sid: number, config: SubscriptionConfig, nowMs: number): void {
		this.sql.exec(
			"UPDATE subscriptions SET type = ?, config = ?, paused = ?, updated_at_ms = ? WHERE sid = ?",
			config.type,
			JSON.stringify(config),
			config.paused ? 1 : 0,
			nowMs,
			sid,
		);
	}

	setSecret(sid: number, secret: string): void {
		this.sql.exec("UPDATE subscriptions SET secret = ? WHERE sid = ?", secret, sid);
	}

	/** Removes a subscription; its deliveries become orphans that `dropDeliveries` deletes in batches. */
	deleteSubscription(sid: number): void {
		this.sql.exec("DELETE FROM subscriptions WHERE sid = ?", sid);
		this.sql.exec("DELETE FROM delivery_counts WHERE sid = ?", sid);
		this.metrics.dropSubscription(sid);
	}

	/** Deletes up to `limit` deliveries of a (removed) subscription; returns how many. */
	dropDeliveries(sid: number, limit: number): number {
		return changedRows(
			this.sql,
			"DELETE FROM deliveries WHERE sid = ? AND mid IN (SELECT mid FROM deliveries WHERE sid = ? LIMIT ?)",
			sid,
			sid,
			limit,
		);
	}

	/** Stores messages and their deliveries (store-publish.ts); outcomes keep input order. */
	insertMessages(messages: readonly NewMessage[], nowMs: number): PublishOutcome[] {
		return insertMessages(this.sql, messages, nowMs);
	}

	/** The earliest time a delivery needs the alarm: a due push delivery, or any lease expiry. */
	nextPendingAtMs(): number | null {
		const row = this.rows<{ next_at_ms: number }>(
			`SELECT next_at_ms FROM deliveries
			 WHERE next_at_ms IS NOT NULL AND +sid IN (SELECT sid FROM subscriptions)
			   AND (state = 'in_flight' OR +sid IN (SELECT sid FROM subscriptions WHERE paused = 0 AND type != 'pull'))
			 ORDER BY next_at_ms LIMIT 1`,
		)[0];
		return row ? row.next_at_ms : null;
	}

	/**
	 * Ends up to `limit` leases that expired by `nowMs`: each goes back to scheduled at
	 * `retryAtMs(sid, attempts)`, or dead when that returns null (attempts used up). `onExpired`
	 * hears of each (the live tail, only while someone listens).
	 */
	expireLeases(
		nowMs: number,
		limit: number,
		retryAtMs: (sid: number, attempts: number, qstashRetries: number | null) => number | null,
		onDead?: (dead: { mid: number; sid: number; attempts: number }[]) => void,
		onExpired?: (e: ExpiredLease) => void,
	): number {
		const expired = this.rows<{
			mid: number;
			sid: number;
			lease: number;
			attempts: number;
			retries: number | null;
			id: string;
		}>(
			// Through deliveries_by_sub (sid, state, next_at_ms): only expired leases are read, however many
			// scheduled deliveries are due (deliveries_pending would walk all of those first). A `/v2`
			// message's own retries (`Upstash-Retries`) come along: they bound its attempts, not the subscription's.
			`SELECT d.mid, d.sid, d.lease, d.attempts, m.options ->> '$.retries' AS retries, m.id
			 FROM deliveries d JOIN messages m ON m.mid = d.mid
			 WHERE d.sid IN (SELECT sid FROM subscriptions) AND d.state = 'in_flight' AND d.next_at_ms <= ? LIMIT ?`,
			nowMs,
			limit,
		);
		const dead: { mid: number; sid: number; attempts: number }[] = [];
		const tally = new AttemptTally();
		for (const e of expired) {
			const at = retryAtMs(e.sid, e.attempts, e.retries);
			onExpired?.({ mid: e.mid, sid: e.sid, lease: e.lease, messageId: e.id, attempts: e.attempts, nextAtMs: at });
			tally.outcome(e.sid, at === null ? "dead" : "retry");
			if (at === null) {
				dead.push({ mid: e.mid, sid: e.sid, attempts: e.attempts });
				this.sql.exec(
					`UPDATE deliveries SET state = 'dead', next_at_ms = NULL, last_status = NULL,
					 last_error = 'lease expired without an outcome', updated_at_ms = ? WHERE mid = ? AND sid = ?`,
					nowMs,
					e.mid,
					e.sid,
				);
			} else {
				this.sql.exec(
					`UPDATE deliveries SET state = 'scheduled', next_at_ms = ?, last_status = NULL,
					 last_error = 'lease expired without an outcome', updated_at_ms = ? WHERE mid = ? AND sid = ?`,
					at,
					nowMs,
					e.mid,
					e.sid,
				);
			}
		}
		tally.write(this.sql);
		if (dead.length > 0) onDead?.(dead);
		return expired.length;
	}

	/** What a `/v2` callback reports of a message (null: gone, or not a `/v2` message). */
	callbackSourceOf(mid: number): CallbackSourceRow | null {
		const row = this.rows<CallbackSourceRow>(
			"SELECT id, body, headers, options, deliver_at_ms, published_at_ms FROM messages WHERE mid = ?",
			mid,
		)[0];
		return row?.options ? row : null;
	}

	/**
	 * Claims up to `limit` scheduled push deliveries due by `dueByMs`: marks them in flight (as of
	 * `nowMs`) until `leaseUntilMs(sid)` and returns them with their message, earliest first.
	 */
	claimDue(
		dueByMs: number,
		limit: number,
		leaseUntilMs: (sid: number) => number,
		nowMs: number = dueByMs,
	): ClaimedDelivery[] {
		const due = this.rows<DueRow>(
			`SELECT ${DUE_COLUMNS}
			 FROM deliveries d JOIN messages m ON m.mid = d.mid
			 WHERE d.next_at_ms IS NOT NULL AND d.next_at_ms <= ? AND d.state = 'scheduled'
			   AND +d.sid IN (SELECT sid FROM subscriptions WHERE paused = 0 AND type IN ('webhook', 'queue'))
			 ORDER BY d.next_at_ms LIMIT ?`,
			dueByMs,
			limit,
		);
		return markInFlight(this.sql, due, leaseUntilMs, nowMs);
	}

	/** Records attempts' outcomes in a few statements per batch (store-record.ts); returns how many were recorded. */
	recordAttempts(
		records: readonly AttemptRecord[],
		nowMs: number,
		callbacks?: CallbackSink,
		onRecorded?: (r: AttemptRecord) => void,
	): number {
		return recordAttempts(this.sql, records, nowMs, callbacks, onRecorded);
	}

	/** Makes every push lease expire now: the instance that held them is gone (a new one is starting). */
	expirePushLeases(nowMs: number): number {
		return changedRows(
			this.sql,
			`UPDATE deliveries SET next_at_ms = ? WHERE state = 'in_flight' AND next_at_ms > ?
			 AND sid IN (SELECT sid FROM subscriptions WHERE type IN ('webhook', 'queue'))`,
			nowMs,
			nowMs,
		);
	}

	/** Delivery counts per subscription and state, kept by triggers (no scan). */
	countsBySubscription(): { sid: number; state: DeliveryState; n: number }[] {
		return this.rows<{ sid: number; state: DeliveryState; n: number }>(
			"SELECT sid, state, n FROM delivery_counts LIMIT 1000",
		);
	}

	/** The due time of the oldest due, undelivered delivery of a subscription. */
	oldestDueAtMs(sid: number, nowMs: number): number | null {
		const row = this.rows<{ next_at_ms: number }>(
			`SELECT next_at_ms FROM deliveries WHERE sid = ? AND state = 'scheduled' AND next_at_ms <= ?
			 ORDER BY next_at_ms LIMIT 1`,
			sid,
			nowMs,
		)[0];
		return row ? row.next_at_ms : null;
	}

	messageCount(): number {
		return this.rows<{ n: number }>("SELECT n FROM totals WHERE name = 'messages'")[0]?.n ?? 0;
	}

	/** Messages ever stored here (schema v11's trigger-kept total; a duplicate id refused is not one). */
	publishedCount(): number {
		return this.rows<{ n: number }>("SELECT n FROM totals WHERE name = 'published'")[0]?.n ?? 0;
	}
}
