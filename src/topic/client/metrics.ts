import { mapBounded } from "../../concurrency";
import { mergeSubscriptionMetrics, type TopicMetrics } from "../metrics";
import type { Door } from "./door";

/** Partitions of one topic asked at once for their metrics (the rest wait for a free slot). */
const METRICS_PARTITION_CONCURRENCY = 8;

/** A topic's metrics (metrics.ts), summed over its partitions. */
export class TopicMetricsReader {
	constructor(private readonly door: Door) {}

	/**
	 * Every partition's metrics, at most `concurrency` calls at a time, merged: partition 0's
	 * subscriptions with counts, lateness and attempts summed and the worst lag. 404 when there is
	 * no topic.
	 */
	read(): Promise<TopicMetrics> {
		const door = this.door;
		return door.run(async (route) => {
			const parts = await mapBounded(door.partitions(route), METRICS_PARTITION_CONCURRENCY, (p) =>
				door.call(p, (s) => s.metrics(route)),
			);
			return {
				topic: door.topic,
				partitions: route.partitions,
				messages: parts.reduce((n, p) => n + p.messages, 0),
				published: parts.reduce((n, p) => n + p.published, 0),
				subscriptions: mergeSubscriptionMetrics(parts.map((p) => p.subscriptions)),
			};
		});
	}
}
