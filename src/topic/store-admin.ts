import { changedRows } from "./store";
import { MetricsStore } from "./store-metrics";
import type { DeliveryOptions, DeliveryState, DeliveryView, MessageView } from "./types";

/**
 * The topic object's SQL for steering, dead letters, listing, retention and background jobs.
 * Synchronous like TopicStore; every query is indexed and bounded by a LIMIT.
 */

type Row = Record<string, SqlStorageValue>;

/** A dead delivery as the dead-letter list shows it. */
export interface DeadRow {
	mid: number;
	messageId: string;
	attempts: number;
	lastStatus: number | null;
	lastError: string | null;
	deadAtMs: number;
}

/** A message in a list (no body: lists stay small). */
export interface MessageSummaryRow {
	mid: number;
	id: string;
	contentType: string;
	requestId: string | null;
	key: string | null;
	deliverAtMs: number;
	publishedAtMs: number;
}

/** Filters of the message list; times bound the due time, both inclusive. */
export interface MessageFilter {
	state: DeliveryState | null;
	sid: number | null;
	fromMs: number | null;
	toMs: number | null;
	/** Position after which the page starts (newest due first): [deliver_at_ms, mid]. */
	before: [number, number] | null;
}

/** Background work done by the alarm in bounded batches. */
export type JobKind = "redrive" | "purge_dead" | "drop_subscription";

export interface Job {
	id: number;
	kind: JobKind;
	sid: number;
	beforeMs: number;
}

const PENDING = "('scheduled', 'in_flight')";

export class AdminStore {
	constructor(private readonly sql: SqlStorage) {}

	private rows<T extends Row>(query: string, ...bindings: SqlStorageValue[]): T[] {
		return this.sql.exec<T>(query, ...bindings).toArray();
	}

	getMessage(id: string, names: Map<number, string>): MessageView | null {
		const m = this.rows<{
			mid: number;
			id: string;
			body: string;
			content_type: string;
			headers: string | null;
			request_id: string | null;
			deliver_at_ms: number;
			published_at_ms: number;
			options: string | null;
			key: string | null;
		}>(
			"SELECT mid, id, body, content_type, headers, request_id, deliver_at_ms, published_at_ms, options, key FROM messages WHERE id = ?",
			id,
		)[0];
		if (!m) return null;
		const deliveries = this.rows<{
			sid: number;
			state: DeliveryState;
			next_at_ms: number | null;
			attempts: number;
			last_status: number | null;
			last_error: string | null;
			delivered_at_ms: number | null;
		}>(
			"SELECT sid, state, next_at_ms, attempts, last_status, last_error, delivered_at_ms FROM deliveries WHERE mid = ? LIMIT 1000",
			m.mid,
		);
		const failures = new MetricsStore(this.sql).failuresOf(m.mid);
		const views: DeliveryView[] = deliveries
			.filter((d) => names.has(d.sid))
			.map((d) => ({
				subscription: names.get(d.sid) as string,
				state: d.state,
				attempts: d.attempts,
				nextAttemptAtMs: d.next_at_ms,
				lastStatus: d.last_status,
				lastError: d.last_error,
				deliveredAtMs: d.delivered_at_ms,
				history: failures.get(d.sid) ?? [],
			}));
		views.sort((a, b) => a.subscription.localeCompare(b.subscription));
		return {
			id: m.id,
			body: m.body,
			contentType: m.content_type,
			headers: m.headers ? (JSON.parse(m.headers) as Record<string, string>) : {},
			requestId: m.request_id,
			deliverAtMs: m.deliver_at_ms,
			publishedAtMs: m.published_at_ms,
			options: m.options ? (JSON.parse(m.options) as DeliveryOptions) : null,
			key: m.key,
			deliveries: views,
		};
	}

	midOf(id: string): number | null {
		return this.rows<{ mid: number }>("SELECT mid FROM messages WHERE id = ?", id)[0]?.mid ?? null;
	}

	/** Cancels every pending delivery of a message; returns how many. */
	cancel(mid: number, nowMs: number, sid: number | null = null): number {
		return changedRows(
			this.sql,
			`UPDATE deliveries SET state = 'cancelled', next_at_ms = NULL, updated_at_ms = ?
			 WHERE mid = ? AND state IN ${PENDING} AND +sid IN (SELECT sid FROM subscriptions)
			 AND (? IS NULL OR sid = ?)`,
			nowMs,
			mid,
			sid,
			sid,
		);
	}

	/** Makes every scheduled delivery of a message due at `atMs`; returns how many. */
	moveScheduled(mid: number, atMs: number, nowMs: number): number {
		return changedRows(
			this.sql,
			`UPDATE deliveries SET next_at_ms = ?, updated_at_ms = ?
			 WHERE mid = ? AND state = 'scheduled' AND +sid IN (SELECT sid FROM subscriptions)`,
			atMs,
			nowMs,
			mid,
		);
	}

	setDeliverAt(mid: number, atMs: number): void {
		this.sql.exec("UPDATE messages SET deliver_at_ms = ? WHERE mid = ?", atMs, mid);
	}

	/** Dead deliveries of a subscription in message order, after message row `afterMid`. */
	listDead(sid: number, afterMid: number, limit: number): DeadRow[] {
		return this.rows<{
			mid: number;
			id: string;
			attempts: number;
			last_status: number | null;
			last_error: string | null;
			updated_at_ms: number;
		}>(
			`SELECT d.mid, m.id, d.attempts, d.last_status, d.last_error, d.updated_at_ms
			 FROM deliveries d JOIN messages m ON m.mid = d.mid
			 WHERE d.sid = ? AND d.state = 'dead' AND d.next_at_ms IS NULL AND d.mid > ?
			 ORDER BY d.mid LIMIT ?`,
			sid,
			afterMid,
			limit,
		).map((r) => ({
			mid: r.mid,
			messageId: r.id,
			attempts: r.attempts,
			lastStatus: r.last_status,
			lastError: r.last_error,
			deadAtMs: r.updated_at_ms,
		}));
	}

	/** Which of these message ids are not dead for the subscription (unknown ids included). */
	notDead(sid: number, ids: string[]): string[] {
		const missing: string[] = [];
		for (const id of ids) {
			const found = this.rows<{ n: number }>(
				`SELECT 1 AS n FROM deliveries d JOIN messages m ON m.mid = d.mid
				 WHERE m.id = ? AND d.sid = ? AND d.state = 'dead'`,
				id,
				sid,
			);
			if (found.length === 0) missing.push(id);
		}
		return missing;
	}

	/** Schedules the named dead deliveries again at `nowMs` with attempts reset. */
	redriveIds(sid: number, ids: string[], nowMs: number): number {
		let n = 0;
		for (const id of ids) {
			n += changedRows(
				this.sql,
				`UPDATE deliveries SET state = 'scheduled', next_at_ms = ?, attempts = 0, updated_at_ms = ?
				 WHERE sid = ? AND state = 'dead' AND mid = (SELECT mid FROM messages WHERE id = ?)`,
				nowMs,
				nowMs,
				sid,
				id,
			);
		}
		return n;
	}

	/** Redrives up to `limit` deliveries that were dead at `beforeMs`; returns how many. */
	redriveBatch(sid: number, beforeMs: number, nowMs: number, limit: number): number {
		return changedRows(
			this.sql,
			`UPDATE deliveries SET state = 'scheduled', next_at_ms = ?, attempts = 0, updated_at_ms = ?
			 WHERE sid = ? AND mid IN (
				SELECT mid FROM deliveries WHERE sid = ? AND state = 'dead' AND next_at_ms IS NULL AND updated_at_ms <= ?
				LIMIT ?)`,
			nowMs,
			nowMs,
			sid,
			sid,
			beforeMs,
			limit,
		);
	}

	/** Deletes the named messages' dead deliveries of a subscription; returns how many. */
	purgeIds(sid: number, ids: string[]): number {
		let n = 0;
		for (const id of ids) {
			n += changedRows(
				this.sql,
				"DELETE FROM deliveries WHERE sid = ? AND state = 'dead' AND mid = (SELECT mid FROM messages WHERE id = ?)",
				sid,
				id,
			);
		}
		return n;
	}

	/** Deletes up to `limit` deliveries that were dead at `beforeMs`; returns how many. */
	purgeBatch(sid: number, beforeMs: number, limit: number): number {
		return changedRows(
			this.sql,
			`DELETE FROM deliveries WHERE sid = ? AND mid IN (
				SELECT mid FROM deliveries WHERE sid = ? AND state = 'dead' AND next_at_ms IS NULL AND updated_at_ms <= ?
				LIMIT ?)`,
			sid,
			sid,
			beforeMs,
			limit,
		);
	}

	/** Messages newest due first, filtered, after the cursor position; `limit + 1` to see if more follow. */
	listMessages(f: MessageFilter, limit: number): MessageSummaryRow[] {
		const where: string[] = [];
		const bindings: SqlStorageValue[] = [];
		if (f.fromMs !== null) {
			where.push("m.deliver_at_ms >= ?");
			bindings.push(f.fromMs);
		}
		if (f.toMs !== null) {
			where.push("m.deliver_at_ms <= ?");
			bindings.push(f.toMs);
		}
		if (f.before !== null) {
			where.push("(m.deliver_at_ms, m.mid) < (?, ?)");
			bindings.push(f.before[0], f.before[1]);
		}
		if (f.state !== null || f.sid !== null) {
			const sub = ["d.mid = m.mid", "+d.sid IN (SELECT sid FROM subscriptions)"];
			if (f.state !== null) {
				sub.push("d.state = ?");
				bindings.push(f.state);
			}
			if (f.sid !== null) {
				sub.push("d.sid = ?");
				bindings.push(f.sid);
			}
			where.push(`EXISTS (SELECT 1 FROM deliveries d WHERE ${sub.join(" AND ")})`);
		}
		bindings.push(limit + 1);
		return this.rows<{
			mid: number;
			id: string;
			content_type: string;
			request_id: string | null;
			key: string | null;
			deliver_at_ms: number;
			published_at_ms: number;
		}>(
			`SELECT m.mid, m.id, m.content_type, m.request_id, m.key, m.deliver_at_ms, m.published_at_ms FROM messages m
			 ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
			 ORDER BY m.deliver_at_ms DESC, m.mid DESC LIMIT ?`,
			...bindings,
		).map((r) => ({
			mid: r.mid,
			id: r.id,
			contentType: r.content_type,
			requestId: r.request_id,
			key: r.key,
			deliverAtMs: r.deliver_at_ms,
			publishedAtMs: r.published_at_ms,
		}));
	}

	/** Delivery states of the listed messages, for existing subscriptions only. */
	deliveriesOf(mids: number[]): { mid: number; sid: number; state: DeliveryState; attempts: number }[] {
		const out: { mid: number; sid: number; state: DeliveryState; attempts: number }[] = [];
		for (const mid of mids) {
			out.push(
				...this.rows<{ mid: number; sid: number; state: DeliveryState; attempts: number }>(
					"SELECT mid, sid, state, attempts FROM deliveries WHERE mid = ? AND +sid IN (SELECT sid FROM subscriptions) LIMIT 100",
					mid,
				),
			);
		}
		return out;
	}

	/** The oldest finish time among finished messages (for the retention sweep's alarm). */
	oldestFinishedAtMs(): number | null {
		return (
			this.rows<{ finished_at_ms: number }>(
				"SELECT finished_at_ms FROM messages WHERE finished_at_ms IS NOT NULL ORDER BY finished_at_ms LIMIT 1",
			)[0]?.finished_at_ms ?? null
		);
	}

	/** Deletes up to `limit` messages finished at or before `cutoffMs`, with their deliveries. */
	sweepFinished(cutoffMs: number, limit: number): number {
		const mids = this.rows<{ mid: number }>(
			`SELECT mid FROM messages WHERE finished_at_ms IS NOT NULL AND finished_at_ms <= ?
			 ORDER BY finished_at_ms LIMIT ?`,
			cutoffMs,
			limit,
		);
		for (const { mid } of mids) {
			this.sql.exec("DELETE FROM deliveries WHERE mid = ?", mid);
			this.sql.exec("DELETE FROM messages WHERE mid = ?", mid);
		}
		return mids.length;
	}

	addJob(kind: JobKind, sid: number, beforeMs: number): void {
		this.sql.exec("INSERT INTO jobs (kind, sid, before_ms) VALUES (?, ?, ?)", kind, sid, beforeMs);
	}

	nextJob(): Job | null {
		const row = this.rows<{ id: number; kind: JobKind; sid: number; before_ms: number }>(
			"SELECT id, kind, sid, before_ms FROM jobs ORDER BY id LIMIT 1",
		)[0];
		return row ? { id: row.id, kind: row.kind, sid: row.sid, beforeMs: row.before_ms } : null;
	}

	finishJob(id: number): void {
		this.sql.exec("DELETE FROM jobs WHERE id = ?", id);
	}
}
