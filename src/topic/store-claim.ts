/** The SQL shared by the push claim and the pull lease: what they read, and marking it in flight. */

import type { DeliveryOptions } from "./types";

/** A delivery claimed for a push attempt, joined with what is sent. */
export interface ClaimedDelivery {
	mid: number;
	sid: number;
	lease: number;
	attempt: number;
	messageId: string;
	body: string;
	contentType: string;
	headers: Record<string, string>;
	requestId: string | null;
	deliverAtMs: number;
	/** When the message was published (a `/v2` callback reports it as `createdAt`). */
	publishedAtMs: number;
	/** When this attempt is due (the message's due time, or its retry time): never sent before. */
	dueAtMs: number;
	/** The message's own delivery (a /v2 publish), or null: the subscription's. */
	options: DeliveryOptions | null;
	/** The message's key, or null. */
	key: string | null;
}

/** The columns the push claim and the pull lease read of a due delivery and its message. */
export const DUE_COLUMNS =
	"d.mid, d.sid, d.attempts, d.lease, d.next_at_ms, m.id, m.body, m.content_type, m.headers, m.request_id, m.deliver_at_ms, m.published_at_ms, m.options, m.key";

/** A row of `DUE_COLUMNS`. */
export interface DueRow extends Record<string, SqlStorageValue> {
	mid: number;
	sid: number;
	attempts: number;
	lease: number;
	next_at_ms: number;
	id: string;
	body: string;
	content_type: string;
	headers: string | null;
	request_id: string | null;
	deliver_at_ms: number;
	published_at_ms: number;
	options: string | null;
	key: string | null;
}

/**
 * Marks due deliveries in flight (attempt and lease + 1) until their lease ends, as the returned
 * claims say; a few statements per batch (33 rows each, within 100 bound parameters).
 */
export function markInFlight(
	sql: SqlStorage,
	due: readonly DueRow[],
	leaseUntilMs: (sid: number) => number,
	nowMs: number,
): ClaimedDelivery[] {
	for (let i = 0; i < due.length; i += 33) {
		const chunk = due.slice(i, i + 33);
		sql.exec(
			`UPDATE deliveries SET state = 'in_flight', attempts = attempts + 1, lease = lease + 1,
			 next_at_ms = v.column3, updated_at_ms = ?
			 FROM (VALUES ${Array(chunk.length).fill("(?, ?, ?)").join(", ")}) AS v
			 WHERE deliveries.mid = v.column1 AND deliveries.sid = v.column2`,
			nowMs,
			...chunk.flatMap((r) => [r.mid, r.sid, leaseUntilMs(r.sid)]),
		);
	}
	return due.map((r) => ({
		mid: r.mid,
		sid: r.sid,
		lease: r.lease + 1,
		attempt: r.attempts + 1,
		messageId: r.id,
		body: r.body,
		contentType: r.content_type,
		headers: r.headers ? (JSON.parse(r.headers) as Record<string, string>) : {},
		requestId: r.request_id,
		deliverAtMs: r.deliver_at_ms,
		publishedAtMs: r.published_at_ms,
		dueAtMs: r.next_at_ms,
		options: r.options ? (JSON.parse(r.options) as DeliveryOptions) : null,
		key: r.key,
	}));
}
