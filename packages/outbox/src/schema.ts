/**
 * The outbox's tables in your Durable Object's SQLite. Every name starts with `_sundial_outbox`,
 * so none clashes with yours; the schema version is a row of `_sundial_outbox_meta`, and each
 * migration runs once, in order, in one transaction.
 */

/** The schema version this code writes. */
export const SCHEMA_VERSION = 1;

/** Migrations by the version they lead to. */
const MIGRATIONS: Record<number, string> = {
	1: `
		CREATE TABLE IF NOT EXISTS _sundial_outbox_meta (
			key TEXT PRIMARY KEY,
			value INTEGER
		);
		-- One row per message to send: its topic, its id (fixed when written) and the JSON Sundial gets.
		CREATE TABLE IF NOT EXISTS _sundial_outbox (
			seq INTEGER PRIMARY KEY,
			topic TEXT NOT NULL,
			id TEXT NOT NULL,
			message TEXT NOT NULL,
			published_at_ms INTEGER NOT NULL
		);
		CREATE INDEX IF NOT EXISTS _sundial_outbox_by_topic ON _sundial_outbox (topic, seq);
		-- One row per topic with messages waiting: when to send next, and the failures since the last success.
		CREATE TABLE IF NOT EXISTS _sundial_outbox_topics (
			topic TEXT PRIMARY KEY,
			next_at_ms INTEGER NOT NULL,
			failures INTEGER NOT NULL DEFAULT 0,
			last_error TEXT
		);
		CREATE INDEX IF NOT EXISTS _sundial_outbox_topics_due ON _sundial_outbox_topics (next_at_ms);
		-- Messages Sundial refused as bad input, with its answer.
		CREATE TABLE IF NOT EXISTS _sundial_outbox_dead (
			seq INTEGER PRIMARY KEY,
			topic TEXT NOT NULL,
			id TEXT NOT NULL,
			message TEXT NOT NULL,
			error TEXT NOT NULL,
			published_at_ms INTEGER NOT NULL,
			dead_at_ms INTEGER NOT NULL
		);
	`,
};

/** Brings the tables to SCHEMA_VERSION; refuses a newer schema (written by a later version of this package). */
export function migrate(storage: DurableObjectStorage): void {
	const sql = storage.sql;
	const version = currentVersion(sql);
	if (version === SCHEMA_VERSION) return;
	if (version > SCHEMA_VERSION) {
		throw new Error(`sundial-outbox: the outbox tables are at schema ${version}; this version knows ${SCHEMA_VERSION}`);
	}
	storage.transactionSync(() => {
		for (let v = version + 1; v <= SCHEMA_VERSION; v++) {
			const migration = MIGRATIONS[v];
			if (migration === undefined) throw new Error(`sundial-outbox: no migration to schema ${v}`);
			sql.exec(migration);
		}
		sql.exec(
			"INSERT INTO _sundial_outbox_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			SCHEMA_VERSION,
		);
	});
}

function currentVersion(sql: SqlStorage): number {
	const table = sql
		.exec<{ n: number }>(
			"SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sundial_outbox_meta'",
		)
		.one();
	if (table.n === 0) return 0;
	const row = sql
		.exec<{ value: number }>("SELECT value FROM _sundial_outbox_meta WHERE key = 'schema_version'")
		.toArray()[0];
	return row?.value ?? 0;
}
