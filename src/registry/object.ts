import { DurableObject } from "cloudflare:workers";

/** A topic as the registry lists it. */
export interface TopicEntry {
	name: string;
	createdAtMs: number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, created_at_ms INTEGER NOT NULL) WITHOUT ROWID`;

/** The list of topic names (Durable Objects cannot be enumerated). One instance, named "registry". */
export class RegistryObject extends DurableObject {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.storage.sql.exec(SCHEMA);
	}

	/** Records a topic; a known name keeps its creation time. */
	async add(name: string, createdAtMs: number): Promise<void> {
		this.ctx.storage.sql.exec(
			"INSERT INTO topics (name, created_at_ms) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
			name,
			createdAtMs,
		);
	}

	async remove(name: string): Promise<void> {
		this.ctx.storage.sql.exec("DELETE FROM topics WHERE name = ?", name);
	}

	/** Topics after `after` in name order, at most `limit`, plus whether more follow. */
	async list(after: string | null, limit: number): Promise<{ topics: TopicEntry[]; more: boolean }> {
		const rows = this.ctx.storage.sql
			.exec<{ name: string; created_at_ms: number }>(
				"SELECT name, created_at_ms FROM topics WHERE name > ? ORDER BY name LIMIT ?",
				after ?? "",
				limit + 1,
			)
			.toArray();
		return {
			topics: rows.slice(0, limit).map((r) => ({ name: r.name, createdAtMs: r.created_at_ms })),
			more: rows.length > limit,
		};
	}
}
