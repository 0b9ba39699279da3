import { AppError } from "../errors";
import type { TopicConfig } from "./types";

/** What configuring a partition takes (the Worker's topic client decides every field). */
export interface PartitionSetup {
	name: string;
	partition: number;
	partitions: number;
	retentionMs: number;
	nowMs: number;
}

/**
 * What a partition does with a setup: create the topic here, or update its retention. Partition 0
 * holds the topic's identity: a different count there is a 409. Another partition with a different
 * count and nothing in it (`inUse` false) is left over from a creation that failed part-way
 * (partition 0 never had it): it is wiped and set up anew.
 */
export function planSetup(
	current: TopicConfig | null,
	setup: PartitionSetup,
	inUse: boolean,
): AppError | { wipe: boolean; topic: TopicConfig } {
	const wipe = current !== null && current.partitions !== setup.partitions;
	if (wipe && (setup.partition === 0 || inUse)) {
		const message = `partitions is fixed for the topic's life (it has ${current.partitions}); delete the topic to change it`;
		return new AppError(409, "partitions_fixed", message, [{ path: "partitions", message: "cannot be changed" }]);
	}
	if (current && !wipe)
		return { wipe, topic: { ...current, retentionMs: setup.retentionMs, updatedAtMs: setup.nowMs } };
	return {
		wipe,
		topic: {
			name: setup.name,
			retentionMs: setup.retentionMs,
			partitions: setup.partitions,
			partition: setup.partition,
			createdAtMs: setup.nowMs,
			updatedAtMs: setup.nowMs,
		},
	};
}
