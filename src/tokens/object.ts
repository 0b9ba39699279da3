import { DurableObject } from "cloudflare:workers";
import type { Scope } from "./scopes";

/** A scoped token as stored: never the token itself, only its SHA-256. */
export interface TokenRecord {
	id: string;
	name: string;
	/** The token's first characters (`sdl_` + 6), to recognise it in a list. */
	prefix: string;
	scopes: Scope[];
	topics: string[];
	createdAtMs: number;
	expiresAtMs: number | null;
	lastUsedAtMs: number | null;
}

interface Row extends Record<string, SqlStorageValue> {
	id: string;
	name: string;
	prefix: string;
	scopes: string;
	topics: string;
	created_at_ms: number;
	expires_at_ms: number | null;
	last_used_at_ms: number | null;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS tokens (
	id TEXT PRIMARY KEY,
	hash TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	scopes TEXT NOT NULL,
	topics TEXT NOT NULL,
	created_at_ms INTEGER NOT NULL,
	expires_at_ms INTEGER,
	last_used_at_ms INTEGER
) WITHOUT ROWID`;

const COLUMNS = "id, name, prefix, scopes, topics, created_at_ms, expires_at_ms, last_used_at_ms";
/** `last_used_at` is written at most this often per token (a lookup is not a write each time). */
const LAST_USED_EVERY_MS = 60_000;
/** Most tokens kept. */
export const MAX_TOKENS = 1000;

const record = (r: Row): TokenRecord => ({
	id: r.id,
	name: r.name,
	prefix: r.prefix,
	scopes: JSON.parse(r.scopes) as Scope[],
	topics: JSON.parse(r.topics) as string[],
	createdAtMs: r.created_at_ms,
	expiresAtMs: r.expires_at_ms,
	lastUsedAtMs: r.last_used_at_ms,
});

/** Every scoped token, in one object named "tokens" (src/tokens/client.ts). */
export class TokenObject extends DurableObject {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.storage.sql.exec(SCHEMA);
	}

	/** Stores a new token by its hash; null when MAX_TOKENS are stored. */
	async create(input: Omit<TokenRecord, "lastUsedAtMs"> & { hash: string }): Promise<TokenRecord | null> {
		const [count] = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM tokens").toArray();
		if ((count?.n ?? 0) >= MAX_TOKENS) return null;
		this.ctx.storage.sql.exec(
			`INSERT INTO tokens (id, hash, name, prefix, scopes, topics, created_at_ms, expires_at_ms)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			input.id,
			input.hash,
			input.name,
			input.prefix,
			JSON.stringify(input.scopes),
			JSON.stringify(input.topics),
			input.createdAtMs,
			input.expiresAtMs,
		);
		const { hash: _hash, ...stored } = input;
		return { ...stored, lastUsedAtMs: null };
	}

	/** Every token, newest first. */
	async list(): Promise<TokenRecord[]> {
		return this.ctx.storage.sql
			.exec<Row>(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at_ms DESC, id`)
			.toArray()
			.map(record);
	}

	/** Removes a token; false when there was none. */
	async revoke(id: string): Promise<boolean> {
		return this.ctx.storage.sql.exec("DELETE FROM tokens WHERE id = ?", id).rowsWritten > 0;
	}

	/** The live token with this hash (not expired at `nowMs`), noting its use; null when none. */
	async lookup(hash: string, nowMs: number): Promise<TokenRecord | null> {
		const [row] = this.ctx.storage.sql.exec<Row>(`SELECT ${COLUMNS} FROM tokens WHERE hash = ?`, hash).toArray();
		if (!row || (row.expires_at_ms !== null && row.expires_at_ms <= nowMs)) return null;
		if (row.last_used_at_ms === null || nowMs - row.last_used_at_ms >= LAST_USED_EVERY_MS) {
			this.ctx.storage.sql.exec("UPDATE tokens SET last_used_at_ms = ? WHERE id = ?", nowMs, row.id);
			row.last_used_at_ms = nowMs;
		}
		return record(row);
	}
}
