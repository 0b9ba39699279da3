/**
 * Claims on message ids (README "Partitions"): a keyed message lives in its key's partition, and
 * its id's partition keeps a claim naming that partition, so lookups and duplicate detection still
 * start from the id. A claim lasts until its message's due time plus the topic's retention.
 */
export interface IdClaim {
	id: string;
	/** The partition the message is stored in. */
	partition: number;
	deliverAtMs: number;
}

/** A day past retention: a claim never ends before its message could. */
const CLAIM_SLACK_MS = 86_400_000;

export class IdClaims {
	constructor(private readonly sql: SqlStorage) {}

	/**
	 * Claims ids for keyed messages stored in other partitions; per claim, false when the id is taken
	 * here (a message stored here, or a claim for another partition). Claiming again is harmless.
	 */
	claim(claims: readonly IdClaim[], retentionMs: number): boolean[] {
		return claims.map((c) => {
			const stored = this.sql.exec("SELECT 1 FROM messages WHERE id = ?", c.id).toArray().length > 0;
			if (stored) return false;
			const [row] = this.sql
				.exec<{ partition: number }>(
					`INSERT INTO id_claims (id, partition, until_ms) VALUES (?, ?, ?)
					 ON CONFLICT(id) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)
					 WHERE partition = excluded.partition
					 RETURNING partition`,
					c.id,
					c.partition,
					c.deliverAtMs + retentionMs + CLAIM_SLACK_MS,
				)
				.toArray();
			return row !== undefined;
		});
	}

	/** The partitions claimed for these ids (ids without a claim are absent). */
	of(ids: readonly string[]): Record<string, number> {
		const out: Record<string, number> = {};
		for (let i = 0; i < ids.length; i += 90) {
			const chunk = ids.slice(i, i + 90);
			const rows = this.sql
				.exec<{ id: string; partition: number }>(
					`SELECT id, partition FROM id_claims WHERE id IN (${chunk.map(() => "?").join(", ")})`,
					...chunk,
				)
				.toArray();
			for (const r of rows) out[r.id] = r.partition;
		}
		return out;
	}

	/** Which of these ids are claimed for another partition (a message here may not take them). */
	claimedAmong(ids: readonly string[]): Set<string> {
		if (this.sql.exec("SELECT 1 FROM id_claims LIMIT 1").toArray().length === 0) return new Set();
		return new Set(Object.keys(this.of(ids)));
	}

	/** Drops up to `limit` claims past their end; returns how many. */
	prune(nowMs: number, limit: number): number {
		return this.sql.exec(
			"DELETE FROM id_claims WHERE id IN (SELECT id FROM id_claims WHERE until_ms < ? LIMIT ?)",
			nowMs,
			limit,
		).rowsWritten;
	}
}
