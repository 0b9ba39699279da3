import type { BlockedKey } from "../blocked-keys";
import type { KeyChange } from "../key-limits";
import type { KeyLimitsView } from "../types";
import type { Door } from "./door";
import { partitionOf } from "./routing";

/**
 * Limits of message keys (key-limits.ts): a key lives in partition partitionOf(key), so each call
 * reaches one partition; the list merges every partition's page in key order.
 */
export class TopicKeys {
	constructor(private readonly door: Door) {}

	/** A key's limits and state, or null when it has none. */
	get(key: string): Promise<KeyLimitsView | null> {
		return this.door.run((r) => this.door.call(partitionOf(key, r.partitions), (s) => s.keyLimits(r, key)));
	}

	/** Changes a key's limits; the key's view after the change (null: it has none now). */
	change(key: string, change: KeyChange): Promise<KeyLimitsView | null> {
		return this.door.run((r) =>
			this.door.call(partitionOf(key, r.partitions), (s) => s.changeKeyLimits(r, key, change)),
		);
	}

	/** Up to `limit` keys blocked for subscription `name` after `afterKey`, in key order, over every partition. */
	blocked(name: string, afterKey: string | null, limit: number): Promise<{ keys: BlockedKey[]; next: string | null }> {
		const door = this.door;
		return door.run(async (r) => {
			const pages = await Promise.all(
				door.partitions(r).map((p) => door.call(p, (s) => s.blockedKeys(r, name, afterKey, limit))),
			);
			return firstInKeyOrder(pages, limit);
		});
	}

	/** Up to `limit` keys with limits after `afterKey`, in key order (`fifo`: `/v2` queues only); `next`: the last. */
	list(afterKey: string | null, limit: number, fifo = false): Promise<{ keys: KeyLimitsView[]; next: string | null }> {
		const door = this.door;
		return door.run(async (r) => {
			const pages = await Promise.all(
				door.partitions(r).map((p) => door.call(p, (s) => s.listKeyLimits(r, afterKey, limit, fifo))),
			);
			return firstInKeyOrder(pages, limit);
		});
	}
}

/**
 * The first `limit` items of partitions' pages (each in key order, at most `limit` long) in key
 * order; `next` is the last key when any partition may have more after it.
 */
function firstInKeyOrder<T extends { key: string }>(pages: T[][], limit: number): { keys: T[]; next: string | null } {
	const all = pages.flat().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
	const keys = all.slice(0, limit);
	const more = all.length > limit || pages.some((p) => p.length === limit);
	return { keys, next: more && keys.length > 0 ? (keys[keys.length - 1] as T).key : null };
}
