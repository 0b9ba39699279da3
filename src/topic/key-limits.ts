import { inFlightByKey, keyRow, keyView, type LimitRow, listKeys, rateOf, startsByKey } from "./key-counts";
import { RATE_MARGIN_MS, STARTED_IN_FLIGHT } from "./rate-window";
import type { DueRow } from "./store-claim";
import type { KeyLimitsInput, KeyLimitsView, MessageKeyLimits, NewMessage } from "./types";

/**
 * Limits of message keys in one partition (README "Flow control", docs/API.md "Key limits"). All
 * messages of a key live in its partition, so a key's limits are exact here, for every subscription
 * of the topic together (QStash's flow-control keys: "across destinations"):
 *
 * - `parallelism`: attempts of the key's messages in flight (push attempts and pull leases);
 * - `rate`: attempts started in any window of `period` (sliding, dated at the answer as
 *   subscription rates are, flow.ts);
 * - `paused`: none start;
 * - `fifo` (a `/v2` queue): only the first `parallelism` messages of the key still pending (scheduled
 *   or in flight), in due then publish order, may go: a message waiting for its retry holds its place.
 *
 * Held messages stay scheduled. The claim (flow.ts) and the pull lease (pull.ts) read a `KeyGate`
 * made once per claim: the keys that may start nothing now are left out in SQL (`KEY_GATE`), so a
 * busy key never hides the others, and `take` keeps each key within what it may still start.
 */

/** How long a flow-control key set only by messages is kept after its last message. */
export const IDLE_KEY_MS = 3_600_000;

/** A change of a key's limits over the API. */
export type KeyChange =
	/** `keepPeriod`: a rate given keeps the key's current period (a pin that names none). */
	| { kind: "put"; input: KeyLimitsInput; pin?: boolean; fifo?: boolean; keepPeriod?: boolean }
	| { kind: "unpin"; parallelism: boolean; rate: boolean }
	| { kind: "resetRate" }
	/** `cancel`: the key's pending deliveries are cancelled too (a deleted `/v2` queue). */
	| { kind: "remove"; cancel?: boolean };

/** The SQL condition of the gate on a due row `m` (three JSON bindings: `KeyGate.bindings`). */
export const KEY_GATE = `(m.key IS NULL OR (m.key NOT IN (SELECT value FROM json_each(?))
	AND (m.key NOT IN (SELECT value FROM json_each(?)) OR m.mid IN (SELECT value FROM json_each(?)))))`;

/** Why a key may start nothing now. */
export type KeyHold = "paused" | "parallelism" | "rate";

/** What one claim may start, by key. */
export interface KeyGate {
	/** The bindings of `KEY_GATE`: keys that may start nothing, queue keys, their messages that may go. */
	bindings: [string, string, string];
	/** Takes due rows in order, each key within what it may still start. */
	take<R extends DueRow>(rows: readonly R[]): R[];
	/** The keys that may start nothing now, and why. */
	held: ReadonlyMap<string, KeyHold>;
	/** The queues' keys (`fifo`). */
	queues: ReadonlySet<string>;
	/** When a key held by its rate may start again, or null. */
	freeAtMs: number | null;
}

export class KeyLimits {
	/** Whether this partition has any key limits (null: not read yet). Unused, they cost nothing. */
	private any: boolean | null = null;

	constructor(private readonly sql: SqlStorage) {}

	private rows<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: SqlStorageValue[]): T[] {
		return this.sql.exec<T>(query, ...bindings).toArray();
	}

	present(): boolean {
		this.any ??= this.rows("SELECT 1 FROM key_limits LIMIT 1").length > 0;
		return this.any;
	}

	/** Forgets what was read (the storage was wiped). */
	reset(): void {
		this.any = null;
	}

	private row(key: string): LimitRow | null {
		return keyRow(this.sql, key);
	}

	/** Applies what published messages say of their keys' limits (part of the publish transaction). */
	applyFromMessages(messages: readonly NewMessage[], nowMs: number): void {
		for (const m of messages) if (m.key && m.keyLimits) this.applyFromMessage(m.key, m.keyLimits, nowMs);
	}

	private applyFromMessage(key: string, limits: MessageKeyLimits, nowMs: number): void {
		if (limits.kind === "queue") {
			// An enqueue to an unknown queue creates it with parallelism 1; a known queue keeps its settings.
			this.sql.exec(
				`INSERT INTO key_limits (key, parallelism, fifo, created_at_ms, updated_at_ms) VALUES (?, 1, 1, ?, ?)
				 ON CONFLICT(key) DO NOTHING`,
				key,
				nowMs,
				nowMs,
			);
		} else {
			// The newest message's values win, except those pinned (QStash's flow-control keys).
			this.sql.exec(
				`INSERT INTO key_limits (key, parallelism, rate_limit, period_ms, created_at_ms, updated_at_ms, from_messages)
				 VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)
				 ON CONFLICT(key) DO UPDATE SET
				   parallelism = CASE WHEN pinned_parallelism = 1 THEN parallelism ELSE ?2 END,
				   rate_limit = CASE WHEN pinned_rate = 1 THEN rate_limit ELSE ?3 END,
				   period_ms = CASE WHEN pinned_rate = 1 THEN period_ms ELSE ?4 END,
				   updated_at_ms = ?5`,
				key,
				limits.parallelism,
				limits.rate?.limit ?? null,
				limits.rate?.periodMs ?? null,
				nowMs,
			);
		}
		this.any = true;
	}

	/**
	 * Sets a key's limits (`/v1` PUT, `/v2` queue upsert and pin): the fields given replace the
	 * stored ones (created when missing). `pin` marks the given limits pinned; `fifo` makes it a queue.
	 */
	put(
		key: string,
		input: KeyLimitsInput,
		nowMs: number,
		how: { pin?: boolean; fifo?: boolean; keepPeriod?: boolean } = {},
	): void {
		const old = this.row(key);
		const parallelism = input.parallelism === undefined ? (old?.parallelism ?? null) : input.parallelism;
		const oldRate = old ? rateOf(old) : null;
		let rate = input.rate === undefined ? oldRate : input.rate;
		if (how.keepPeriod && input.rate && oldRate) rate = { limit: input.rate.limit, periodMs: oldRate.periodMs };
		const paused = input.paused === undefined ? (old?.paused ?? 0) : input.paused ? 1 : 0;
		const pinPar = (old?.pinned_parallelism ?? 0) || (how.pin && input.parallelism !== undefined ? 1 : 0);
		const pinRate = (old?.pinned_rate ?? 0) || (how.pin && input.rate !== undefined ? 1 : 0);
		this.sql.exec(
			`INSERT INTO key_limits (key, parallelism, rate_limit, period_ms, fifo, paused, pinned_parallelism, pinned_rate,
			   rate_reset_at_ms, created_at_ms, updated_at_ms)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
			 ON CONFLICT(key) DO UPDATE SET parallelism = ?2, rate_limit = ?3, period_ms = ?4, fifo = ?5, paused = ?6,
			   pinned_parallelism = ?7, pinned_rate = ?8, updated_at_ms = ?11, from_messages = 0`,
			key,
			parallelism,
			rate?.limit ?? null,
			rate?.periodMs ?? null,
			how.fifo || old?.fifo ? 1 : 0,
			paused,
			pinPar,
			pinRate,
			old?.rate_reset_at_ms ?? 0,
			old?.created_at_ms ?? nowMs,
			nowMs,
		);
		this.any = true;
	}

	/** Unpins a key's limits: later messages set them again. False when the key has no limits. */
	unpin(key: string, what: { parallelism: boolean; rate: boolean }, nowMs: number): boolean {
		return (
			this.sql.exec(
				`UPDATE key_limits SET pinned_parallelism = CASE WHEN ? THEN 0 ELSE pinned_parallelism END,
				 pinned_rate = CASE WHEN ? THEN 0 ELSE pinned_rate END, updated_at_ms = ? WHERE key = ?`,
				what.parallelism ? 1 : 0,
				what.rate ? 1 : 0,
				nowMs,
				key,
			).rowsWritten > 0
		);
	}

	/** Starts a new rate window now: earlier starts no longer count. False when the key has no limits. */
	resetRate(key: string, nowMs: number): boolean {
		return (
			this.sql.exec("UPDATE key_limits SET rate_reset_at_ms = ?, updated_at_ms = ? WHERE key = ?", nowMs, nowMs, key)
				.rowsWritten > 0
		);
	}

	/**
	 * Forgets up to `limit` flow-control keys set only by messages (never by the API, paused, pinned or
	 * a queue) that went idle: no update for an hour, no open message, no start inside their window.
	 * The next message with the key sets its limits again. Returns how many went.
	 */
	sweep(nowMs: number, limit = 100): number {
		if (!this.present()) return 0;
		const idle = this.rows<{ key: string }>(
			`SELECT k.key FROM key_limits k
			 WHERE k.from_messages = 1 AND k.paused = 0 AND k.pinned_parallelism = 0 AND k.pinned_rate = 0 AND k.fifo = 0
			   AND k.updated_at_ms < ?
			   AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.key = k.key AND m.finished_at_ms IS NULL)
			   AND NOT EXISTS (SELECT 1 FROM key_starts s WHERE s.key = k.key
			     AND s.at_ms > ? - COALESCE(k.period_ms, 0) - ${RATE_MARGIN_MS})
			 LIMIT ?`,
			nowMs - IDLE_KEY_MS,
			nowMs,
			limit,
		).map((r) => r.key);
		if (idle.length === 0) return 0;
		const list = JSON.stringify(idle);
		this.sql.exec("DELETE FROM key_limits WHERE key IN (SELECT value FROM json_each(?))", list);
		this.sql.exec("DELETE FROM key_starts WHERE key IN (SELECT value FROM json_each(?))", list);
		this.any = null;
		return idle.length;
	}

	/** Applies a change over the API (one transaction: the caller's). */
	change(key: string, change: KeyChange, nowMs: number): void {
		switch (change.kind) {
			case "put":
				this.put(key, change.input, nowMs, change);
				return;
			case "unpin":
				this.unpin(key, change, nowMs);
				return;
			case "resetRate":
				this.resetRate(key, nowMs);
				return;
			case "remove":
				if (change.cancel) this.cancelOpen(key, nowMs);
				this.remove(key);
		}
	}

	/** Cancels the pending deliveries of a key's open messages (attempts in flight end as cancelled). */
	private cancelOpen(key: string, nowMs: number): void {
		this.sql.exec(
			`UPDATE deliveries SET state = 'cancelled', next_at_ms = NULL, updated_at_ms = ?
			 WHERE state IN ('scheduled', 'in_flight') AND +sid IN (SELECT sid FROM subscriptions)
			   AND mid IN (SELECT mid FROM messages WHERE key = ? AND finished_at_ms IS NULL)`,
			nowMs,
			key,
		);
	}

	/** Removes a key's limits (its messages then go unlimited). False when it had none. */
	remove(key: string): boolean {
		const removed = this.sql.exec("DELETE FROM key_limits WHERE key = ?", key).rowsWritten > 0;
		this.sql.exec("DELETE FROM key_starts WHERE key = ?", key);
		this.any = null;
		return removed;
	}

	/** The gate of one claim or lease at `nowMs`, or null when the partition has no key limits. */
	gate(nowMs: number): KeyGate | null {
		if (!this.present()) return null;
		const inFlight = inFlightByKey(this.sql);
		const starts = startsByKey(this.sql, nowMs);
		const held = new Map<string, KeyHold>(
			this.rows<{ key: string }>("SELECT key FROM key_limits WHERE paused = 1").map((r) => [r.key, "paused"]),
		);
		let freeAtMs: number | null = null;
		const limited = this.rows<LimitRow>(
			`SELECT * FROM key_limits WHERE key IN (SELECT value FROM json_each(?))`,
			JSON.stringify([...new Set([...inFlight.keys(), ...starts.keys()])]),
		);
		for (const r of limited) {
			if (r.parallelism !== null && (inFlight.get(r.key) ?? 0) >= r.parallelism && !held.has(r.key)) {
				held.set(r.key, "parallelism");
			}
			const s = starts.get(r.key);
			if (r.rate_limit !== null && r.period_ms !== null && s && s.n >= r.rate_limit) {
				if (!held.has(r.key)) held.set(r.key, "rate");
				if (s.oldest < STARTED_IN_FLIGHT) {
					const at = s.oldest + r.period_ms + RATE_MARGIN_MS + 1;
					freeAtMs = freeAtMs === null ? at : Math.min(freeAtMs, at);
				}
			}
		}
		// A queue's window: its first `parallelism` open messages (a retrying one holds its place).
		const queues = this.rows<{ key: string; parallelism: number | null }>(
			"SELECT key, parallelism FROM key_limits WHERE fifo = 1",
		);
		const window: number[] = [];
		for (const q of queues) {
			if (held.has(q.key)) continue;
			for (const r of this.rows<{ mid: number }>(
				`SELECT m.mid FROM messages m WHERE m.key = ? AND m.finished_at_ms IS NULL
				 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.mid = m.mid AND d.state IN ('scheduled', 'in_flight'))
				 ORDER BY m.deliver_at_ms, m.mid LIMIT ?`,
				q.key,
				q.parallelism ?? 1,
			)) {
				window.push(r.mid);
			}
		}
		return {
			bindings: [JSON.stringify([...held.keys()]), JSON.stringify(queues.map((q) => q.key)), JSON.stringify(window)],
			held,
			queues: new Set(queues.map((q) => q.key)),
			freeAtMs,
			take: (rows) => this.take(rows, inFlight, starts),
		};
	}

	private take<R extends DueRow>(
		rows: readonly R[],
		inFlight: Map<string, number>,
		starts: Map<string, { n: number }>,
	): R[] {
		const keys = [...new Set(rows.map((r) => r.key).filter((k): k is string => k !== null))];
		if (keys.length === 0) return [...rows];
		const room = new Map<string, number>();
		for (const r of this.rows<LimitRow>(
			"SELECT * FROM key_limits WHERE key IN (SELECT value FROM json_each(?))",
			JSON.stringify(keys),
		)) {
			let left = Number.POSITIVE_INFINITY;
			if (r.parallelism !== null) left = Math.min(left, r.parallelism - (inFlight.get(r.key) ?? 0));
			if (r.rate_limit !== null) left = Math.min(left, r.rate_limit - (starts.get(r.key)?.n ?? 0));
			room.set(r.key, left);
		}
		return rows.filter((r) => {
			if (r.key === null || !room.has(r.key)) return true;
			const left = room.get(r.key) as number;
			if (left <= 0) return false;
			room.set(r.key, left - 1);
			return true;
		});
	}

	/**
	 * Records the starts of claimed attempts of rate-limited keys: `atMs` (a pull lease) or in flight
	 * until the answer dates them (`settle`). Forgets starts older than every window.
	 */
	recordStarts(rows: readonly { mid: number; key: string | null }[], atMs: number): void {
		const keyed = rows.filter((r): r is { mid: number; key: string } => r.key !== null);
		if (keyed.length === 0) return;
		const rated = new Set(
			this.rows<{ key: string }>(
				"SELECT key FROM key_limits WHERE rate_limit IS NOT NULL AND key IN (SELECT value FROM json_each(?))",
				JSON.stringify([...new Set(keyed.map((r) => r.key))]),
			).map((r) => r.key),
		);
		if (rated.size === 0) return;
		for (const r of keyed) {
			if (rated.has(r.key))
				this.sql.exec("INSERT INTO key_starts (key, mid, at_ms) VALUES (?, ?, ?)", r.key, r.mid, atMs);
		}
		this.sql.exec(
			`DELETE FROM key_starts WHERE key IN (SELECT value FROM json_each(?)) AND at_ms <= ? - COALESCE(
			   (SELECT period_ms FROM key_limits k WHERE k.key = key_starts.key), 0) - ${RATE_MARGIN_MS}`,
			JSON.stringify([...rated]),
			atMs === STARTED_IN_FLIGHT ? Date.now() : atMs,
		);
	}

	/** Dates the start of an ended attempt of message `mid` (if its key is rate-limited). */
	settle(mid: number, atMs: number): void {
		if (!this.present()) return;
		this.sql.exec(
			`UPDATE key_starts SET at_ms = ? WHERE rowid = (
			   SELECT rowid FROM key_starts WHERE mid = ? AND at_ms = ${STARTED_IN_FLIGHT} LIMIT 1)`,
			atMs,
			mid,
		);
	}

	/** Dates every start still in flight at `atMs` (a new instance: those attempts are gone). */
	settleAll(atMs: number): void {
		this.sql.exec(`UPDATE key_starts SET at_ms = ? WHERE at_ms = ${STARTED_IN_FLIGHT}`, atMs);
	}

	/** A key's limits and what they hold now, or null when it has none. */
	view(key: string, nowMs: number): KeyLimitsView | null {
		return keyView(this.sql, key, nowMs);
	}

	/** Keys with limits after `afterKey` in key order (a page), with their state. */
	list(afterKey: string | null, limit: number, nowMs: number, fifo = false): KeyLimitsView[] {
		return listKeys(this.sql, afterKey, limit, nowMs, fifo);
	}
}
