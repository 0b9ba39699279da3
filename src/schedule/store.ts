/** The schedule object's SQLite: one row per schedule, indexed by its next firing. */

import type { DeliveryOptions, MessageKeyLimits } from "../topic/types";

/** What each firing publishes (a normalised message, without id and due time). */
export interface ScheduledMessage {
	body: string;
	contentType: string;
	headers: Record<string, string>;
	/** The ordering key every firing's message carries (absent: none). Inside the `message` JSON, so no column. */
	key?: string;
	/** A `/v2` schedule's flow-control value or queue: each firing sets its key's limits as a publish does. */
	keyLimits?: MessageKeyLimits;
	/** A `/v2` schedule's delivery (destination, method, retries, …): each firing carries it. */
	options?: DeliveryOptions;
	/** A `/v2` schedule's `Upstash-Delay`: each firing is due this long after its minute. */
	delayMs?: number;
}

/** A schedule as stored. */
export interface ScheduleRow {
	topic: string;
	name: string;
	/** As given (a `CRON_TZ=` prefix included). */
	cron: string;
	/** The validated five fields and zone the engine reads. */
	fields: string;
	timezone: string;
	message: ScheduledMessage;
	paused: boolean;
	/** The next firing (null: the pattern never fires again). */
	nextAtMs: number | null;
	/** Firings after this instant are due: the last published one, or the creation / resume time. */
	sinceMs: number;
	lastAtMs: number | null;
	lastMessageId: string | null;
	lastError: string | null;
	createdAtMs: number;
	updatedAtMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS schedules (
	topic TEXT NOT NULL,
	name TEXT NOT NULL,
	cron TEXT NOT NULL,
	fields TEXT NOT NULL,
	timezone TEXT NOT NULL,
	message TEXT NOT NULL,
	paused INTEGER NOT NULL CHECK (paused IN (0, 1)),
	next_at_ms INTEGER,
	since_ms INTEGER NOT NULL,
	last_at_ms INTEGER,
	last_message_id TEXT,
	last_error TEXT,
	created_at_ms INTEGER NOT NULL,
	updated_at_ms INTEGER NOT NULL,
	PRIMARY KEY (topic, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (next_at_ms) WHERE paused = 0 AND next_at_ms IS NOT NULL;`;

const COLUMNS =
	"topic, name, cron, fields, timezone, message, paused, next_at_ms, since_ms, last_at_ms, last_message_id, last_error, created_at_ms, updated_at_ms";

type Row = {
	topic: string;
	name: string;
	cron: string;
	fields: string;
	timezone: string;
	message: string;
	paused: number;
	next_at_ms: number | null;
	since_ms: number;
	last_at_ms: number | null;
	last_message_id: string | null;
	last_error: string | null;
	created_at_ms: number;
	updated_at_ms: number;
};

function fromRow(r: Row): ScheduleRow {
	return {
		topic: r.topic,
		name: r.name,
		cron: r.cron,
		fields: r.fields,
		timezone: r.timezone,
		message: JSON.parse(r.message) as ScheduledMessage,
		paused: r.paused === 1,
		nextAtMs: r.next_at_ms,
		sinceMs: r.since_ms,
		lastAtMs: r.last_at_ms,
		lastMessageId: r.last_message_id,
		lastError: r.last_error,
		createdAtMs: r.created_at_ms,
		updatedAtMs: r.updated_at_ms,
	};
}

/** Every statement of the schedule object; indexed and bounded. */
export class ScheduleStore {
	constructor(private readonly sql: SqlStorage) {
		sql.exec(SCHEMA);
	}

	private rows(query: string, ...bindings: SqlStorageValue[]): ScheduleRow[] {
		return this.sql
			.exec<Row>(query, ...bindings)
			.toArray()
			.map(fromRow);
	}

	get(topic: string, name: string): ScheduleRow | null {
		return this.rows(`SELECT ${COLUMNS} FROM schedules WHERE topic = ? AND name = ?`, topic, name)[0] ?? null;
	}

	/** A topic's schedules in name order (at most `limit`). */
	list(topic: string, limit: number): ScheduleRow[] {
		return this.rows(`SELECT ${COLUMNS} FROM schedules WHERE topic = ? ORDER BY name LIMIT ?`, topic, limit);
	}

	/** Schedules made through `/v2` (their message carries delivery options), by name. */
	listQstash(limit: number): ScheduleRow[] {
		return this.rows(
			`SELECT ${COLUMNS} FROM schedules WHERE message ->> '$.options' IS NOT NULL ORDER BY name LIMIT ?`,
			limit,
		);
	}

	/** A `/v2` schedule by name (its id), whichever topic it publishes to. */
	findQstash(name: string): ScheduleRow | null {
		return (
			this.rows(
				`SELECT ${COLUMNS} FROM schedules WHERE name = ? AND message ->> '$.options' IS NOT NULL LIMIT 1`,
				name,
			)[0] ?? null
		);
	}

	count(): number {
		return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM schedules").one().n;
	}

	put(s: ScheduleRow): void {
		this.sql.exec(
			`INSERT INTO schedules (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (topic, name) DO UPDATE SET cron = excluded.cron, fields = excluded.fields,
			 timezone = excluded.timezone, message = excluded.message, paused = excluded.paused,
			 next_at_ms = excluded.next_at_ms, since_ms = excluded.since_ms, last_at_ms = excluded.last_at_ms,
			 last_message_id = excluded.last_message_id, last_error = excluded.last_error,
			 updated_at_ms = excluded.updated_at_ms`,
			s.topic,
			s.name,
			s.cron,
			s.fields,
			s.timezone,
			JSON.stringify(s.message),
			s.paused ? 1 : 0,
			s.nextAtMs,
			s.sinceMs,
			s.lastAtMs,
			s.lastMessageId,
			s.lastError,
			s.createdAtMs,
			s.updatedAtMs,
		);
	}

	delete(topic: string, name: string): boolean {
		return (
			this.sql.exec("DELETE FROM schedules WHERE topic = ? AND name = ? RETURNING 1", topic, name).toArray().length > 0
		);
	}

	/** Deletes a topic's schedules (the topic was deleted); returns how many. */
	deleteTopic(topic: string): number {
		return this.sql.exec("DELETE FROM schedules WHERE topic = ? RETURNING 1", topic).toArray().length;
	}

	/** Unpaused schedules due by `nowMs`, earliest first. */
	due(nowMs: number, limit: number): ScheduleRow[] {
		return this.rows(
			`SELECT ${COLUMNS} FROM schedules WHERE paused = 0 AND next_at_ms IS NOT NULL AND next_at_ms <= ?
			 ORDER BY next_at_ms LIMIT ?`,
			nowMs,
			limit,
		);
	}

	/** The earliest next firing of an unpaused schedule. */
	nextAtMs(): number | null {
		return (
			this.sql
				.exec<{ next_at_ms: number }>(
					"SELECT next_at_ms FROM schedules WHERE paused = 0 AND next_at_ms IS NOT NULL ORDER BY next_at_ms LIMIT 1",
				)
				.toArray()[0]?.next_at_ms ?? null
		);
	}
}
