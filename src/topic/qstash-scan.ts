import { readStoredResponse, type StoredResponse } from "../delivery/qstash-response";
import type { SubscriptionRow } from "./store";
import type { DeliveryOptions } from "./types";

/**
 * What `/v2` lists and acts on in one partition (QSTASH.md "Filters", "Dead-letter queue", "Logs"):
 * dead deliveries and log events of `/v2` messages, newest first, and pending ones to cancel.
 * Rows are read lazily in index order and matched here, about SCAN_BUDGET per call, so a filter
 * that matches little costs bounded work per call; the Worker merges partitions (src/http/v2/scan.ts).
 */
export const SCAN_BUDGET = 2000;

/** The filters of QSTASH.md, as the Worker hands them to a partition (repeated values: OR). */
export interface QstashFilter {
	urls: string[];
	hosts: string[];
	paths: string[];
	labels: string[];
	callerIps: string[];
	scheduleIds: string[];
	/** On the message's `createdAt` (ms), inclusive. */
	fromMs: number | null;
	toMs: number | null;
	/** Only these (Sundial id, endpoint or null for any); null: any message. */
	refs: { id: string; subscription: string | null }[] | null;
	responseStatuses: number[];
	/** Log states (`CREATED`, `ACTIVE`, …). */
	states: string[];
	/** Message keys: a flow-control key, or a queue's key (`queueName`). */
	keys: string[];
}

/** A filter that lets every row through. */
export function noFilter(): QstashFilter {
	return {
		urls: [],
		hosts: [],
		paths: [],
		labels: [],
		callerIps: [],
		scheduleIds: [],
		fromMs: null,
		toMs: null,
		refs: null,
		responseStatuses: [],
		states: [],
		keys: [],
	};
}

export interface QstashRow {
	/** The row's time (ms): when the delivery died, or when the event happened. Lists are newest first. */
	atMs: number;
	/** Dead rows: the delivery's keys here ([mid, sid]). */
	key: number[];
	/** The Sundial message id. */
	id: string;
	subscription: string;
	url: string;
	options: DeliveryOptions;
	publishedAtMs: number;
	/** Log rows: the state; dead rows: `FAILED`. */
	state: string;
	nextAtMs: number | null;
	status: number | null;
	error: string | null;
	/** Dead rows only: the message itself and the last failed answer. */
	message?: { body: string; contentType: string; headers: Record<string, string>; deliverAtMs: number };
	response?: StoredResponse | null;
	attempts?: number;
}

/**
 * One partition's answer: matching rows, and how far it read. `floorMs` null: it read to the end.
 * Otherwise it read every row down to and including the millisecond `floorMs` (a read never stops
 * inside a millisecond), so every match at or after it is among the rows.
 */
export interface QstashPage {
	rows: QstashRow[];
	floorMs: number | null;
}

type Sql = SqlStorage;

/** True when a row of this message and endpoint matches the filter (refs, states and statuses aside). */
function matches(f: QstashFilter, o: DeliveryOptions, url: string, publishedAtMs: number): boolean {
	if (f.fromMs !== null && publishedAtMs < f.fromMs) return false;
	if (f.toMs !== null && publishedAtMs > f.toMs) return false;
	if (f.urls.length > 0 && !f.urls.includes(url)) return false;
	if (f.hosts.length > 0 || f.paths.length > 0) {
		let parsed: URL;
		try {
			parsed = new URL(url);
		} catch {
			return false;
		}
		if (f.hosts.length > 0 && !f.hosts.includes(parsed.host)) return false;
		if (f.paths.length > 0 && !f.paths.includes(parsed.pathname)) return false;
	}
	if (f.labels.length > 0 && !o.labels.some((l) => f.labels.includes(l))) return false;
	if (f.callerIps.length > 0 && (o.callerIp === null || !f.callerIps.includes(o.callerIp))) return false;
	if (f.scheduleIds.length > 0 && !f.scheduleIds.includes(o.scheduleId ?? "")) return false;
	return true;
}

/** The endpoint a `/v2` delivery goes to: the message's URL, or the group endpoint's; null for non-webhooks. */
function endpointUrl(o: DeliveryOptions, sub: SubscriptionRow | undefined): string | null {
	if (sub?.config.type !== "webhook") return null;
	return o.url ?? sub.config.url ?? null;
}

function refsMatch(f: QstashFilter, id: string, subscription: string): boolean {
	return (
		f.refs === null || f.refs.some((r) => r.id === id && (r.subscription === null || r.subscription === subscription))
	);
}

const refsClause = (f: QstashFilter) =>
	f.refs === null ? "" : ` AND m.id IN (${f.refs.map(() => "?").join(", ") || "NULL"})`;
const refsArgs = (f: QstashFilter) => (f.refs === null ? [] : f.refs.map((r) => r.id));

/**
 * The test of a row against the filter (response statuses and states aside): the endpoint's
 * subscription, the message's options and the destination URL when it matches, else null.
 */
function matcher(subs: Map<number, SubscriptionRow>, f: QstashFilter) {
	const parse = optionsCache();
	return (r: Pick<ScannedRow, "mid" | "sid" | "id" | "options" | "published_at_ms" | "key">) => {
		if (f.keys.length > 0 && (r.key === null || !f.keys.includes(r.key))) return null;
		const sub = subs.get(r.sid);
		const o = parse(r.mid, r.options);
		const url = endpointUrl(o, sub);
		if (url === null || !sub || !refsMatch(f, r.id, sub.name) || !matches(f, o, url, r.published_at_ms)) return null;
		return { sub, o, url };
	};
}

/** Parses options once per message within a call. */
function optionsCache() {
	const cache = new Map<number, DeliveryOptions>();
	return (mid: number, text: string): DeliveryOptions => {
		let o = cache.get(mid);
		if (!o) {
			o = JSON.parse(text) as DeliveryOptions;
			cache.set(mid, o);
		}
		return o;
	};
}

/** The columns every scanned row has. */
export type ScannedRow = {
	at_ms: number;
	mid: number;
	sid: number;
	id: string;
	options: string;
	published_at_ms: number;
	key: string | null;
	status: number | null;
	error: string | null;
};

/**
 * Reads rows (newest first, from a lazy cursor) until `limit` matches, or `budget` rows, and
 * then to the end of that millisecond: a page never ends inside one, since the next page starts
 * before a millisecond (many rows can share one: a batch publish, a bulk cancel). `kindOf` gives
 * what a dead row and a log row show differently.
 */
export function collect<R extends ScannedRow>(
	cursor: Iterable<R>,
	subs: Map<number, SubscriptionRow>,
	f: QstashFilter,
	limit: number,
	kindOf: (r: R) => Pick<QstashRow, "state" | "nextAtMs" | "attempts">,
	budget = SCAN_BUDGET,
): QstashPage {
	const match = matcher(subs, f);
	const rows: QstashRow[] = [];
	let scanned = 0;
	let lastAtMs: number | null = null;
	for (const r of cursor) {
		if (scanned >= budget && lastAtMs !== null && r.at_ms < lastAtMs) return { rows, floorMs: lastAtMs };
		scanned++;
		lastAtMs = r.at_ms;
		const hit = match(r);
		if (!hit) continue;
		const { sub, o, url } = hit;
		if (f.responseStatuses.length > 0 && !f.responseStatuses.includes(r.status ?? -1)) continue;
		// Full, and this match is in an older millisecond: the page ends, and a next one has something.
		const newest = rows[rows.length - 1];
		if (rows.length >= limit && newest && r.at_ms < newest.atMs) return { rows, floorMs: newest.atMs };
		rows.push({
			atMs: r.at_ms,
			key: [r.mid, r.sid],
			id: r.id,
			subscription: sub.name,
			url,
			options: o,
			publishedAtMs: r.published_at_ms,
			status: r.status,
			error: r.error,
			...kindOf(r),
		});
	}
	return { rows, floorMs: null };
}

/** Dead `/v2` deliveries that died before `beforeMs`, newest death first, about `limit` matches. */
export function scanDead(
	sql: Sql,
	subs: Map<number, SubscriptionRow>,
	f: QstashFilter,
	beforeMs: number | null,
	limit: number,
): QstashPage {
	const cursor = sql.exec<ScannedRow & { attempts: number }>(
		`SELECT d.updated_at_ms AS at_ms, d.mid, d.sid, d.attempts, d.last_status AS status, d.last_error AS error,
		   m.id, m.options, m.published_at_ms, m.key
		 FROM deliveries d JOIN messages m ON m.mid = d.mid
		 WHERE d.state = 'dead' AND m.options IS NOT NULL AND d.updated_at_ms < ?${refsClause(f)}
		 ORDER BY d.updated_at_ms DESC, d.mid DESC, d.sid DESC`,
		beforeMs ?? Number.MAX_SAFE_INTEGER,
		...refsArgs(f),
	);
	const page = collect(cursor, subs, f, limit, (r) => ({ state: "FAILED", nextAtMs: null, attempts: r.attempts }));
	for (const row of page.rows) {
		const [m] = sql
			.exec<{
				body: string;
				content_type: string;
				headers: string | null;
				deliver_at_ms: number;
				last_response: string | null;
			}>(
				`SELECT m.body, m.content_type, m.headers, m.deliver_at_ms, d.last_response
				 FROM messages m JOIN deliveries d ON d.mid = m.mid WHERE m.mid = ? AND d.sid = ?`,
				...row.key,
			)
			.toArray();
		if (!m) continue;
		row.message = {
			body: m.body,
			contentType: m.content_type,
			headers: m.headers ? (JSON.parse(m.headers) as Record<string, string>) : {},
			deliverAtMs: m.deliver_at_ms,
		};
		row.response = readStoredResponse(m.last_response);
	}
	return page;
}

/** Log events of `/v2` deliveries before `beforeMs`, newest first, about `limit` matches. */
export function scanEvents(
	sql: Sql,
	subs: Map<number, SubscriptionRow>,
	f: QstashFilter,
	beforeMs: number | null,
	limit: number,
): QstashPage {
	const states = f.states.length > 0 ? ` AND e.state IN (${f.states.map(() => "?").join(", ")})` : "";
	const cursor = sql.exec<ScannedRow & { state: string; next_at_ms: number | null }>(
		`SELECT e.at_ms, e.mid, e.sid, e.state, e.next_at_ms, e.status, e.error, m.id, m.options, m.published_at_ms, m.key
		 FROM events e JOIN messages m ON m.mid = e.mid
		 WHERE e.at_ms < ?${states}${refsClause(f)}
		 ORDER BY e.at_ms DESC, e.seq DESC`,
		beforeMs ?? Number.MAX_SAFE_INTEGER,
		...f.states,
		...refsArgs(f),
	);
	return collect(cursor, subs, f, limit, (r) => ({ state: r.state, nextAtMs: r.next_at_ms }));
}

/**
 * Pending (scheduled or in-flight) `/v2` deliveries matching the filter, after message row
 * `afterMid`, at most SCAN_BUDGET rows read: their (mid, sid) pairs to cancel, and where to go on
 * while more may remain (else null). The last message read may be cut short by the budget, so it
 * is left for the next call (a message has at most 100 deliveries, far below the budget).
 */
export function scanPending(
	sql: Sql,
	subs: Map<number, SubscriptionRow>,
	f: QstashFilter,
	afterMid: number,
): { matches: [number, number][]; lastMid: number | null } {
	const cursor = sql.exec<{
		mid: number;
		sid: number;
		id: string;
		options: string;
		published_at_ms: number;
		key: string | null;
	}>(
		`SELECT d.mid, d.sid, m.id, m.options, m.published_at_ms, m.key
		 FROM messages m JOIN deliveries d ON d.mid = m.mid
		 WHERE m.mid > ? AND m.options IS NOT NULL AND d.state IN ('scheduled', 'in_flight')${refsClause(f)}
		 ORDER BY m.mid LIMIT ?`,
		afterMid,
		...refsArgs(f),
		SCAN_BUDGET,
	);
	const match = matcher(subs, f);
	const found: [number, number][] = [];
	let scanned = 0;
	let lastMid: number | null = null;
	for (const r of cursor) {
		scanned++;
		lastMid = r.mid;
		if (match(r)) found.push([r.mid, r.sid]);
	}
	if (scanned < SCAN_BUDGET || lastMid === null) return { matches: found, lastMid: null };
	const cut = lastMid;
	return { matches: found.filter(([mid]) => mid !== cut), lastMid: cut - 1 };
}
