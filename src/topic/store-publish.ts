import type { NewMessage, PublishOutcome } from "./types";

/**
 * The SQL of publishing: messages and their deliveries, a whole batch in a few statements.
 *
 * Rows travel as one JSON array per statement, unpacked by SQLite's `json_each`, instead of as
 * bound parameters (at most 100 per statement: 72 message INSERTs and 21 delivery INSERTs for
 * 1000 items). Profiled in workerd (docs/BENCHMARKS.md): half of a batch's CPU went to those
 * statements' per-statement and per-parameter cost; one statement each halves the object's CPU
 * per message. SQLite turns the JSON values into the same column values the parameters gave
 * (strings, integers, null), so stored rows are the same.
 */

/**
 * Upper bound of one JSON parameter, in UTF-8 bytes. A string bound to a Durable Object's SQLite
 * is at most 2 MB (PLATFORM.md §4); this leaves room, counting 3 bytes per UTF-16 code unit.
 */
const JSON_PARAM_MAX_BYTES = 1_500_000;
/** Deliveries per INSERT: `[mid, due, key]` of ≤ 2 × 16 digits and a key of ≤ 256 characters stay below the 2 MB limit. */
const DELIVERIES_PER_INSERT = 2_000;

const INSERT_MESSAGES_JSON = `INSERT INTO messages (id, body, content_type, headers, request_id, deliver_at_ms, options, key, published_at_ms)
	SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, ?
	FROM json_each(?) WHERE true ON CONFLICT(id) DO NOTHING RETURNING mid, id`;
// (`WHERE true` lets SQLite parse `ON CONFLICT` as the upsert clause after a SELECT.)

/** For a message whose JSON row would not fit one parameter: its fields bound one by one. */
const INSERT_MESSAGE_BOUND = `INSERT INTO messages (id, body, content_type, headers, request_id, deliver_at_ms, options, key, published_at_ms)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING RETURNING mid, id`;

/** One delivery row per (message, subscription), in message order, each subscription in sid order. */
const INSERT_DELIVERIES_JSON = `INSERT INTO deliveries (mid, sid, state, next_at_ms, attempts, lease, updated_at_ms, key, key_at_ms)
	SELECT v.value->>0, s.sid, 'scheduled', v.value->>1, 0, 0, ?, v.value->>2, CASE WHEN v.value->>2 IS NULL THEN NULL ELSE v.value->>1 END
	FROM json_each(?) AS v CROSS JOIN subscriptions s`;

/** The stored due time and key of each id in a JSON array of ids. */
const STORED_BY_ID_JSON =
	"SELECT m.id, m.deliver_at_ms, m.key FROM json_each(?) AS j JOIN messages AS m ON m.id = j.value";
/** Ids per lookup: 2,000 ids of ≤ 128 ASCII characters are ~260 kB, far below the 2 MB a parameter may be. */
const DUPLICATE_IDS_PER_SELECT = 2_000;

const headersText = (m: NewMessage) => (Object.keys(m.headers).length > 0 ? JSON.stringify(m.headers) : null);
const optionsText = (m: NewMessage) => (m.options ? JSON.stringify(m.options) : null);

/**
 * Inserts messages in input order (so `mid` follows it) and returns the `mid` of each id stored
 * now; an id already stored, or earlier in `messages`, is skipped (ON CONFLICT DO NOTHING).
 */
function insertMessageRows(sql: SqlStorage, messages: readonly NewMessage[], nowMs: number): Map<string, number> {
	const mids = new Map<string, number>();
	const take = (cursor: SqlStorageCursor<{ mid: number; id: string }>) => {
		for (const row of cursor) mids.set(row.id, row.mid);
	};
	let rows: string[] = [];
	let bytes = 0;
	const flush = () => {
		if (rows.length === 0) return;
		take(sql.exec<{ mid: number; id: string }>(INSERT_MESSAGES_JSON, nowMs, `[${rows.join(",")}]`));
		rows = [];
		bytes = 0;
	};
	for (const m of messages) {
		// The columns of INSERT_MESSAGES_JSON / INSERT_MESSAGE_BOUND, in their order.
		const fields = [
			m.id,
			m.body,
			m.contentType,
			headersText(m),
			m.requestId,
			m.deliverAtMs,
			optionsText(m),
			m.key ?? null,
		];
		const row = JSON.stringify(fields);
		const rowBytes = row.length * 3 + 1;
		if (rowBytes > JSON_PARAM_MAX_BYTES) {
			// Escaping can make a large body's JSON longer than the body: bind its fields instead.
			flush();
			take(sql.exec(INSERT_MESSAGE_BOUND, ...fields, nowMs));
			continue;
		}
		if (bytes + rowBytes > JSON_PARAM_MAX_BYTES) flush();
		rows.push(row);
		bytes += rowBytes;
	}
	flush();
	return mids;
}

/**
 * Stores messages and one scheduled delivery per message × subscription. A known id, in storage or
 * earlier in `messages`, changes nothing: its outcome is a duplicate carrying the stored due time.
 * Outcomes keep input order. Synchronous: the caller decides the transaction.
 */
export function insertMessages(sql: SqlStorage, messages: readonly NewMessage[], nowMs: number): PublishOutcome[] {
	const mids = insertMessageRows(sql, messages, nowMs);
	// The first message of an id was inserted; a later one with that id is a duplicate.
	const fresh: [number, number, string | null][] = [];
	const outcomes: PublishOutcome[] = messages.map((m) => {
		const mid = mids.get(m.id);
		if (mid === undefined) return { id: m.id, deliverAtMs: m.deliverAtMs, duplicate: true };
		mids.delete(m.id);
		fresh.push([mid, m.deliverAtMs, m.key ?? null]);
		return { id: m.id, deliverAtMs: m.deliverAtMs, duplicate: false };
	});
	for (let i = 0; i < fresh.length; i += DELIVERIES_PER_INSERT) {
		sql.exec(INSERT_DELIVERIES_JSON, nowMs, JSON.stringify(fresh.slice(i, i + DELIVERIES_PER_INSERT)));
	}
	// Duplicates answer with the due time stored for their id: one lookup for all of them. One whose
	// key differs from the stored message's (or that has a key where it had none, or none where it
	// had one) is a conflict, not a duplicate: as it is when id and key live in different partitions.
	const duplicates = outcomes.flatMap((o, i) => (o.duplicate ? [i] : []));
	if (duplicates.length > 0) {
		const stored = new Map<string, { deliverAtMs: number; key: string | null }>();
		const ids = [...new Set(duplicates.map((i) => (messages[i] as NewMessage).id))];
		for (let i = 0; i < ids.length; i += DUPLICATE_IDS_PER_SELECT) {
			const chunk = JSON.stringify(ids.slice(i, i + DUPLICATE_IDS_PER_SELECT));
			for (const row of sql.exec<{ id: string; deliver_at_ms: number; key: string | null }>(STORED_BY_ID_JSON, chunk)) {
				stored.set(row.id, { deliverAtMs: row.deliver_at_ms, key: row.key });
			}
		}
		for (const i of duplicates) {
			const o = outcomes[i] as PublishOutcome;
			const original = stored.get(o.id);
			if (!original) continue;
			o.deliverAtMs = original.deliverAtMs;
			if (original.key !== ((messages[i] as NewMessage).key ?? null)) o.conflict = true;
		}
	}
	return outcomes;
}
