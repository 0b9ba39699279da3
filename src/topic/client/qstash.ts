import type { QstashFilter, QstashPage } from "../qstash-scan";
import type { Door } from "./door";
import { partitionOf } from "./routing";

/** One partition's page of a `/v2` list, with the partition it came from. */
export interface PartitionPage {
	partition: number;
	page: QstashPage;
}

/** The partitions a filter can match in: those its ids route to, or all. */
function partitionsFor(filter: QstashFilter, count: number): number[] {
	if (filter.refs === null) return Array.from({ length: count }, (_, p) => p);
	return [...new Set(filter.refs.map((r) => partitionOf(r.id, count)))].sort((a, b) => a - b);
}

/**
 * What `/v2` reads and does across one topic's partitions: pages of dead letters and log events
 * (merged with other topics' by the caller, src/http/v2/scan.ts) and cancelling by filter.
 */
export class TopicQstash {
	constructor(private readonly door: Door) {}

	/** One page from each partition the filter can match in, of rows before `beforeMs` (null: newest on). */
	pages(
		kind: "dead" | "events",
		filter: QstashFilter,
		beforeMs: number | null,
		limit: number,
	): Promise<PartitionPage[]> {
		const door = this.door;
		return door.run((route) =>
			Promise.all(
				partitionsFor(filter, route.partitions).map(async (p) => ({
					partition: p,
					page: await door.call(p, (s) => s.qstashScan(route, kind, filter, beforeMs, limit)),
				})),
			),
		);
	}

	/** Cancels every pending `/v2` delivery matching the filter, partition by partition; returns how many. */
	cancel(filter: QstashFilter): Promise<number> {
		const door = this.door;
		return door.run(async (route) => {
			const counts = await Promise.all(
				partitionsFor(filter, route.partitions).map(async (p) => {
					let n = 0;
					let after: number | null = 0;
					while (after !== null) {
						const from: number = after;
						const step = await door.call(p, (s) => s.qstashCancel(route, filter, from));
						n += step.cancelled;
						after = step.next;
					}
					return n;
				}),
			);
			return counts.reduce((a, b) => a + b, 0);
		});
	}
}
