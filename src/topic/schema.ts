/**
 * The topic object's SQLite schema as ordered migrations. The applied version is a row in
 * `meta`; a new object runs them all, an existing one only those past its version.
 */
export const MIGRATIONS: readonly string[] = [
	// v1: messages stored once, one delivery row per message × subscription, counters kept by
	// triggers (so stats never scan), finished_at_ms kept by triggers (so retention is indexed).
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
	CREATE TABLE subscriptions (
		sid INTEGER PRIMARY KEY AUTOINCREMENT,
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
		published_at_ms INTEGER NOT NULL,
		finished_at_ms INTEGER
	);
	CREATE INDEX messages_due ON messages (deliver_at_ms, mid);
	CREATE INDEX messages_finished ON messages (finished_at_ms) WHERE finished_at_ms IS NOT NULL;
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
	CREATE INDEX deliveries_by_sub ON deliveries (sid, state, next_at_ms);
	CREATE TABLE delivery_counts (
		sid INTEGER NOT NULL,
		state TEXT NOT NULL,
		n INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (sid, state)
	) WITHOUT ROWID;
	CREATE TABLE totals (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
	INSERT INTO totals (name, n) VALUES ('messages', 0);
	CREATE TABLE jobs (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		kind TEXT NOT NULL CHECK (kind IN ('redrive', 'purge_dead', 'drop_subscription')),
		sid INTEGER NOT NULL,
		before_ms INTEGER NOT NULL
	);
	CREATE TRIGGER messages_count_up AFTER INSERT ON messages BEGIN
		UPDATE totals SET n = n + 1 WHERE name = 'messages';
	END;
	CREATE TRIGGER messages_count_down AFTER DELETE ON messages BEGIN
		UPDATE totals SET n = n - 1 WHERE name = 'messages';
	END;
	CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries BEGIN
		UPDATE delivery_counts SET n = n + 1 WHERE sid = NEW.sid AND state = NEW.state;
	END;
	CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries BEGIN
		UPDATE delivery_counts SET n = n - 1 WHERE sid = OLD.sid AND state = OLD.state;
	END;
	CREATE TRIGGER deliveries_count_update AFTER UPDATE OF state ON deliveries WHEN OLD.state != NEW.state BEGIN
		UPDATE delivery_counts SET n = n - 1 WHERE sid = OLD.sid AND state = OLD.state;
		UPDATE delivery_counts SET n = n + 1 WHERE sid = NEW.sid AND state = NEW.state;
	END;
	CREATE TRIGGER deliveries_finish AFTER UPDATE OF state ON deliveries
	WHEN NEW.state IN ('delivered', 'cancelled') AND OLD.state NOT IN ('delivered', 'cancelled') BEGIN
		UPDATE messages SET finished_at_ms = NEW.updated_at_ms
		WHERE mid = NEW.mid AND NOT EXISTS (
			SELECT 1 FROM deliveries WHERE mid = NEW.mid AND state IN ('scheduled', 'in_flight', 'dead'));
	END;
	CREATE TRIGGER deliveries_reopen AFTER UPDATE OF state ON deliveries
	WHEN NEW.state NOT IN ('delivered', 'cancelled') AND OLD.state IN ('delivered', 'cancelled') BEGIN
		UPDATE messages SET finished_at_ms = NULL WHERE mid = NEW.mid;
	END;
	CREATE TRIGGER deliveries_gone AFTER DELETE ON deliveries
	WHEN OLD.state IN ('scheduled', 'in_flight', 'dead') BEGIN
		UPDATE messages SET finished_at_ms = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
		WHERE mid = OLD.mid AND finished_at_ms IS NULL AND NOT EXISTS (
			SELECT 1 FROM deliveries WHERE mid = OLD.mid AND state IN ('scheduled', 'in_flight', 'dead'));
	END;`,
	// v2: a message may carry its own delivery (a /v2 publish: destination, method, retries, …).
	"ALTER TABLE messages ADD COLUMN options TEXT;",
	// v3: what `/v2` shows (QSTASH.md "Logs", "Dead-letter queue"): the last failed answer of a /v2
	// delivery, dead deliveries in the order they died, and a log of every state change of a /v2
	// message's deliveries, written by triggers (so no path can skip it) and gone with the message.
	// A /v1 message (options IS NULL) writes no log rows.
	`ALTER TABLE deliveries ADD COLUMN last_response TEXT;
	CREATE INDEX deliveries_dead ON deliveries (updated_at_ms, mid, sid) WHERE state = 'dead';
	CREATE TABLE events (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		at_ms INTEGER NOT NULL,
		mid INTEGER NOT NULL,
		sid INTEGER NOT NULL,
		state TEXT NOT NULL,
		next_at_ms INTEGER,
		status INTEGER,
		error TEXT
	);
	CREATE INDEX events_time ON events (at_ms, seq);
	CREATE INDEX events_message ON events (mid);
	CREATE TRIGGER events_created AFTER INSERT ON deliveries
	WHEN (SELECT options FROM messages WHERE mid = NEW.mid) IS NOT NULL BEGIN
		INSERT INTO events (at_ms, mid, sid, state, next_at_ms) VALUES (NEW.updated_at_ms, NEW.mid, NEW.sid, 'CREATED', NEW.next_at_ms);
	END;
	CREATE TRIGGER events_changed AFTER UPDATE OF state ON deliveries
	WHEN OLD.state != NEW.state AND (SELECT options FROM messages WHERE mid = NEW.mid) IS NOT NULL BEGIN
		INSERT INTO events (at_ms, mid, sid, state, next_at_ms, status, error) VALUES (
			NEW.updated_at_ms, NEW.mid, NEW.sid,
			CASE NEW.state WHEN 'in_flight' THEN 'ACTIVE' WHEN 'scheduled' THEN 'RETRY' WHEN 'delivered' THEN 'DELIVERED'
				WHEN 'dead' THEN 'FAILED' ELSE 'CANCELLED' END,
			NEW.next_at_ms, NEW.last_status, NEW.last_error);
	END;
	CREATE TRIGGER events_gone AFTER DELETE ON messages BEGIN
		DELETE FROM events WHERE mid = OLD.mid;
	END;`,
	// v4: when attempts of rate-limited subscriptions started (flow.ts), pruned past the window.
	`CREATE TABLE rate_starts (sid INTEGER NOT NULL, at_ms INTEGER NOT NULL);
	CREATE INDEX rate_starts_by_sub ON rate_starts (sid, at_ms);`,
	// v5: per-key ordering. A message's key (its messages live in the key's partition); its open
	// messages (not finished) in due then publish order, where a key's head is found; and claims on ids of keyed messages stored in another partition (client/routing.ts),
	// kept until \`until_ms\` (the message's due time plus the topic's retention).
	`ALTER TABLE messages ADD COLUMN key TEXT;
	CREATE INDEX messages_key_open ON messages (key, deliver_at_ms, mid) WHERE key IS NOT NULL AND finished_at_ms IS NULL;
	CREATE TABLE id_claims (id TEXT PRIMARY KEY, partition INTEGER NOT NULL, until_ms INTEGER NOT NULL) WITHOUT ROWID;
	CREATE INDEX id_claims_until ON id_claims (until_ms);`,
	// v6: limits of message keys (key-limits.ts): QStash flow-control keys, `/v1` key limits and
	// `/v2` queues (\`fifo\`: the first \`parallelism\` open messages of the key may go, in order); and
	// when attempts of rate-limited keys started (the message's row, so an answer dates its start).
	`CREATE TABLE key_limits (
		key TEXT PRIMARY KEY,
		parallelism INTEGER,
		rate_limit INTEGER,
		period_ms INTEGER,
		fifo INTEGER NOT NULL DEFAULT 0,
		paused INTEGER NOT NULL DEFAULT 0,
		pinned_parallelism INTEGER NOT NULL DEFAULT 0,
		pinned_rate INTEGER NOT NULL DEFAULT 0,
		rate_reset_at_ms INTEGER NOT NULL DEFAULT 0,
		created_at_ms INTEGER NOT NULL,
		updated_at_ms INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE key_starts (key TEXT NOT NULL, mid INTEGER NOT NULL, at_ms INTEGER NOT NULL);
	CREATE INDEX key_starts_by_key ON key_starts (key, at_ms);
	CREATE INDEX key_starts_by_mid ON key_starts (mid, at_ms);`,
	// v7: a keyed message's key and due time on its deliveries (set at insert, kept by a trigger when
	// the message moves), so the ordered claim finds a key's earlier pending delivery for a
	// subscription, and whether one is in flight, with one index probe each (store-flow.ts KEY_HEAD)
	// instead of walking every open message of the key.
	`ALTER TABLE deliveries ADD COLUMN key TEXT;
	ALTER TABLE deliveries ADD COLUMN key_at_ms INTEGER;
	UPDATE deliveries SET key = m.key, key_at_ms = m.deliver_at_ms
	FROM messages m WHERE m.mid = deliveries.mid AND m.key IS NOT NULL
	AND deliveries.state IN ('scheduled', 'in_flight', 'dead');
	CREATE INDEX deliveries_key_pending ON deliveries (sid, key, state, key_at_ms, mid)
	WHERE key IS NOT NULL AND state IN ('scheduled', 'in_flight');
	CREATE TRIGGER messages_key_moved AFTER UPDATE OF deliver_at_ms ON messages WHEN NEW.key IS NOT NULL BEGIN
		UPDATE deliveries SET key_at_ms = NEW.deliver_at_ms WHERE mid = NEW.mid;
	END;`,
	// v8: /v2 callbacks of a URL group's attempts, written with the attempt's outcome and forwarded
	// by the alarm to the system topic (callback-outbox.ts); \`id\` is the callback's message id there.
	`CREATE TABLE callback_outbox (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		id TEXT NOT NULL UNIQUE,
		message TEXT NOT NULL,
		next_at_ms INTEGER NOT NULL,
		tries INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX callback_outbox_due ON callback_outbox (next_at_ms);`,
	// v9: flow-control keys set by messages (\`from_messages\`) are forgotten once idle (key-limits.ts
	// \`sweep\`); the gate reads paused keys and queues through their own small indexes.
	`ALTER TABLE key_limits ADD COLUMN from_messages INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX key_limits_paused ON key_limits (key) WHERE paused = 1;
	CREATE INDEX key_limits_fifo ON key_limits (key) WHERE fifo = 1;
	CREATE INDEX key_limits_idle ON key_limits (updated_at_ms)
	WHERE from_messages = 1 AND paused = 0 AND pinned_parallelism = 0 AND pinned_rate = 0 AND fifo = 0;`,
	// v10: metrics (store-metrics.ts). Cumulative per subscription: attempts' lateness in the fixed
	// buckets of metrics.ts (count and summed ms per bucket) and attempts by outcome, each written by one
	// UPSERT per recording transaction, never per attempt. And the last 20 failed attempts of each
	// delivery, written by a trigger only when an attempt fails (in flight → scheduled or dead with its
	// attempt counted; a pull lease given back uncounted lowers \`attempts\` and is no failure), gone
	// with their message.
	`CREATE TABLE lateness (
		sid INTEGER NOT NULL,
		bucket INTEGER NOT NULL CHECK (bucket BETWEEN 0 AND 15),
		n INTEGER NOT NULL,
		sum_ms INTEGER NOT NULL,
		PRIMARY KEY (sid, bucket)
	) WITHOUT ROWID;
	CREATE TABLE attempt_counts (
		sid INTEGER NOT NULL,
		outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
		n INTEGER NOT NULL,
		PRIMARY KEY (sid, outcome)
	) WITHOUT ROWID;
	CREATE TABLE attempt_failures (
		seq INTEGER PRIMARY KEY,
		mid INTEGER NOT NULL,
		sid INTEGER NOT NULL,
		attempt INTEGER NOT NULL,
		at_ms INTEGER NOT NULL,
		outcome TEXT NOT NULL CHECK (outcome IN ('retry', 'dead')),
		status INTEGER,
		error TEXT
	);
	CREATE INDEX attempt_failures_by_delivery ON attempt_failures (mid, sid);
	CREATE TRIGGER attempt_failed AFTER UPDATE OF state ON deliveries
	WHEN OLD.state = 'in_flight' AND NEW.state IN ('scheduled', 'dead') AND NEW.attempts = OLD.attempts BEGIN
		INSERT INTO attempt_failures (mid, sid, attempt, at_ms, outcome, status, error) VALUES (
			NEW.mid, NEW.sid, NEW.attempts, NEW.updated_at_ms,
			CASE NEW.state WHEN 'dead' THEN 'dead' ELSE 'retry' END, NEW.last_status, NEW.last_error);
		DELETE FROM attempt_failures WHERE mid = NEW.mid AND sid = NEW.sid AND seq <= (
			SELECT seq FROM attempt_failures WHERE mid = NEW.mid AND sid = NEW.sid ORDER BY seq DESC LIMIT 1 OFFSET 20);
	END;
	CREATE TRIGGER attempt_failures_gone AFTER DELETE ON messages BEGIN
		DELETE FROM attempt_failures WHERE mid = OLD.mid;
	END;`,
	// v11: messages ever published here (the topic's \`published_total\`, \`sundial_published_total\`):
	// kept by a trigger on every message stored, batch items included; an id refused as a duplicate
	// (ON CONFLICT DO NOTHING) inserts nothing and counts nothing. Never lowered by retention. An
	// existing partition starts from the messages it still stores.
	`INSERT INTO totals (name, n) SELECT 'published', n FROM totals WHERE name = 'messages';
	CREATE TRIGGER messages_published AFTER INSERT ON messages BEGIN
		UPDATE totals SET n = n + 1 WHERE name = 'published';
	END;`,
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
