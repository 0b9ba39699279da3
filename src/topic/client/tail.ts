import type { TailLease } from "../tail-events";
import type { Door } from "./door";

/** What telling the partitions a lease came to. */
export interface ListenResult {
	/** The topic's partition count (read fresh from partition 0). */
	partitions: number;
	/** Partitions that did not take the lease (unreachable, or the topic changed meanwhile). */
	failed: number;
}

/** The live tail's calls to a topic's partitions (the hub in src/tail/hub.ts makes them). */
export class TopicTail {
	constructor(private readonly door: Door) {}

	/** The topic's partition count, read fresh (a tail outlives any cache); 404 when there is no topic. */
	async partitions(): Promise<number> {
		return (await this.door.freshRoute()).partitions;
	}

	/** Tells every partition until when the topic has listeners; 404 when there is no topic. */
	async listen(lease: TailLease): Promise<ListenResult> {
		const route = await this.door.freshRoute();
		const settled = await Promise.allSettled(
			this.door.partitions(route).map((p) => this.door.call(p, (stub) => stub.tailListen(route, lease))),
		);
		return { partitions: route.partitions, failed: settled.filter((r) => r.status === "rejected").length };
	}
}
