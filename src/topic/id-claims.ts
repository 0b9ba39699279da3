/**
 * Claims on message ids (README "Partitions"): a keyed message lives in its key's partition, and
 * its id's partition keeps a claim naming that partition, so lookups and duplicate detection still
 * start from the id. A claim is checked at its message's due time plus the topic's retention (and
 * a day): dropped when the message is gone from the partition it names, else kept for another
 * retention (a rescheduled, paused or dead message lives longer).
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

	/** Which of these ids have a message stored here. */
	storedAmong(ids: readonly string[]): string[] {
		const out: string[] = [];
		for (let i = 0; i < ids.length; i += 90) {
			const chunk = ids.slice(i, i + 90);
			const rows = this.sql
				.exec<{ id: string }>(`SELECT id FROM messages WHERE id IN (${chunk.map(() => "?").join(", ")})`, ...chunk)
				.toArray();
			out.push(...rows.map((r) => r.id));
		}
		return out;
	}

	/** Which of these ids are claimed for another partition (a message here may not take them). */
	claimedAmong(ids: readonly string[]): Set<string> {
		if (this.sql.exec("SELECT 1 FROM id_claims LIMIT 1").toArray().length === 0) return new Set();
		return new Set(Object.keys(this.of(ids)));
	}

	/** Up to `limit` claims past their end, to check with the partitions they name. */
	expired(nowMs: number, limit: number): { id: string; partition: number }[] {
		return this.sql
			.exec<{ id: string; partition: number }>(
				"SELECT id, partition FROM id_claims WHERE until_ms < ? LIMIT ?",
				nowMs,
				limit,
			)
			.toArray();
	}

	/** Drops the claims of messages gone from their partition, and gives the others another `extendMs`. */
	settle(gone: readonly string[], kept: readonly string[], untilMs: number): void {
		for (const id of gone) this.sql.exec("DELETE FROM id_claims WHERE id = ?", id);
		for (const id of kept) this.sql.exec("UPDATE id_claims SET until_ms = ? WHERE id = ?", untilMs, id);
	}

	/** The earliest end of a claim here, or null (the alarm checks it then). */
	nextEndMs(): number | null {
		const [row] = this.sql.exec<{ at: number | null }>("SELECT MIN(until_ms) AS at FROM id_claims").toArray();
		return row?.at ?? null;
	}
}
