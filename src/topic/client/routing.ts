/**
 * The partition rule (README "Partitions", docs/API.md): a message lives in partition
 * fnv1a32(utf8(id)) mod partitions, and partition p of topic t is the object named `t#p`.
 * Routing by id needs no index and no coordinator: a lookup by id and a repeated id (a duplicate)
 * reach the one partition that stored it.
 */

const encoder = new TextEncoder();

/** Most partitions a topic may have. */
export const MAX_PARTITIONS = 64;

/** 32-bit FNV-1a over the UTF-8 bytes of `text` (offset basis 2166136261, prime 16777619). */
export function fnv1a32(text: string): number {
	let hash = 0x811c9dc5;
	for (const byte of encoder.encode(text)) {
		hash ^= byte;
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return hash >>> 0;
}

/** The partition a message id lives in. */
export function partitionOf(id: string, partitions: number): number {
	return partitions === 1 ? 0 : fnv1a32(id) % partitions;
}

/** The Durable Object name of a topic's partition. */
export function objectName(topic: string, partition: number): string {
	return `${topic}#${partition}`;
}

/** A pull receipt as clients see it: the partition (base 36), a dot, the partition's own receipt. */
export function outerReceipt(partition: number, inner: string): string {
	return `${partition.toString(36)}.${inner}`;
}

/** The partition and inner receipt of a client's receipt, or null when it names no partition of the topic. */
export function splitReceipt(receipt: string, partitions: number): { partition: number; inner: string } | null {
	const match = /^([0-9a-z]{1,2})\.(.+)$/.exec(receipt);
	if (!match) return null;
	const partition = Number.parseInt(match[1] as string, 36);
	return partition < partitions ? { partition, inner: match[2] as string } : null;
}
