/**
 * A map kept in memory beside SQLite, whose changes made during a storage transaction count only
 * once that transaction committed (`settle(true)`); a rolled back one leaves it as it was.
 */
export class StagedMap<V> {
	private readonly kept = new Map<string, V>();
	private readonly set = new Map<string, V>();
	private readonly removed = new Set<string>();

	get(key: string): V | undefined {
		if (this.removed.has(key)) return undefined;
		return this.set.has(key) ? this.set.get(key) : this.kept.get(key);
	}

	put(key: string, value: V): void {
		this.removed.delete(key);
		this.set.set(key, value);
	}

	/** Removes `key`; returns its value, or undefined when it had none. */
	take(key: string): V | undefined {
		const value = this.get(key);
		if (value === undefined) return undefined;
		this.set.delete(key);
		this.removed.add(key);
		return value;
	}

	/** Ends the transaction: its changes are kept when it committed, else dropped. */
	settle(committed: boolean): void {
		if (committed) {
			for (const key of this.removed) this.kept.delete(key);
			for (const [key, value] of this.set) this.kept.set(key, value);
		}
		this.set.clear();
		this.removed.clear();
	}

	/** Forgets everything (the storage it mirrors was wiped). */
	clear(): void {
		this.kept.clear();
		this.set.clear();
		this.removed.clear();
	}
}
