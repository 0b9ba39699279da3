/**
 * The topic object's SQLite schema as ordered migrations. The applied version is a row in
 * `meta`; a new object runs them all, an existing one only those past its version.
 */
export const MIGRATIONS: readonly string[] = [
	// v1: messages stored once, one delivery row per message × subscription.
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
	CREATE TABLE subscriptions (
		sid INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		type TEXT NOT NULL CHECK (type IN ('webhook', 'queue', 'pull')),
		config TEXT NOT NULL,
		secret TEXT,
		paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
		created_at_ms INTEGER NOT NULL,
		updated_at_ms INTEGER NOT NULL
	);
	CREATE TABLE messages (
		mid INTEGER PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		body TEXT NOT NULL,
		content_type TEXT NOT NULL,
		headers TEXT,
		request_id TEXT,
		deliver_at_ms INTEGER NOT NULL,
		published_at_ms INTEGER NOT NULL
	);
	CREATE TABLE deliveries (
		mid INTEGER NOT NULL,
		sid INTEGER NOT NULL,
		state TEXT NOT NULL CHECK (state IN ('scheduled', 'in_flight', 'delivered', 'dead', 'cancelled')),
		next_at_ms INTEGER CHECK ((next_at_ms IS NULL) = (state IN ('delivered', 'dead', 'cancelled'))),
		attempts INTEGER NOT NULL DEFAULT 0,
		lease INTEGER NOT NULL DEFAULT 0,
		last_status INTEGER,
		last_error TEXT,
		delivered_at_ms INTEGER,
		updated_at_ms INTEGER NOT NULL,
		PRIMARY KEY (mid, sid)
	) WITHOUT ROWID;
	CREATE INDEX deliveries_pending ON deliveries (next_at_ms) WHERE next_at_ms IS NOT NULL;
	CREATE INDEX deliveries_by_sub ON deliveries (sid, state, next_at_ms);`,
];

/** The version a fully migrated object is at. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Runs the migrations this storage has not seen yet, in one transaction; returns the version applied. */
export function migrate(storage: DurableObjectStorage): number {
	const sql = storage.sql;
	const hasMeta = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
	const current = hasMeta
		? Number(
				sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]?.value ?? 0,
			)
		: 0;
	if (current > SCHEMA_VERSION) {
		throw new Error(`storage is at schema v${current}, newer than this code (v${SCHEMA_VERSION})`);
	}
	if (current === SCHEMA_VERSION) return current;
	storage.transactionSync(() => {
		for (let v = current; v < SCHEMA_VERSION; v++) {
			sql.exec(MIGRATIONS[v] as string);
		}
		sql.exec(
			"INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			String(SCHEMA_VERSION),
		);
	});
	return SCHEMA_VERSION;
}
