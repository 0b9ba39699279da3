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

	/** Up to `limit` keys with limits after `afterKey`, in key order (`fifo`: `/v2` queues only); `next`: the last. */
	list(afterKey: string | null, limit: number, fifo = false): Promise<{ keys: KeyLimitsView[]; next: string | null }> {
		const door = this.door;
		return door.run(async (r) => {
			const pages = await Promise.all(
				door.partitions(r).map((p) => door.call(p, (s) => s.listKeyLimits(r, afterKey, limit, fifo))),
			);
			const keys = pages
				.flat()
				.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
				.slice(0, limit);
			const more = pages.some((p) => p.length === limit) || pages.flat().length > limit;
			return { keys, next: more && keys.length === limit ? (keys[keys.length - 1] as KeyLimitsView).key : null };
		});
	}
}
