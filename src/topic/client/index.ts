import type { AppEnv } from "../../config";
import { TopicAdmin } from "./admin";
import { Door } from "./door";
import { TopicKeys } from "./keys";
import { TopicMessages } from "./messages";
import { TopicMetricsReader } from "./metrics";
import { TopicPull } from "./pull";
import { TopicQstash } from "./qstash";
import { TopicTail } from "./tail";

export type { SubscriptionWrite, TopicInput } from "./admin";
export type { DeadPosition, ListFilter, MessagePosition, PublishResult } from "./messages";
export type { ReceiveRequest } from "./pull";
export type { PartitionPage } from "./qstash";
export { MAX_PARTITIONS } from "./routing";
export type { ListenResult } from "./tail";

/**
 * The one door to a topic's Durable Objects (README "Partitions"): everything the Worker does with
 * a topic goes through here, and the partition rule lives nowhere else.
 */
export interface TopicClient {
	/** The topic itself and its subscriptions (topic-wide, on every partition). */
	admin: TopicAdmin;
	/** Publishing, steering by id, merged message and dead-letter lists. */
	messages: TopicMessages;
	/** Pull consumers: receive, ack, nack, extend. */
	pull: TopicPull;
	/** What `/v2` lists (dead letters, logs) and cancels by filter. */
	qstash: TopicQstash;
	/** Limits of message keys (and `/v2` queues). */
	keys: TopicKeys;
	/** The live tail's leases on the partitions. */
	tail: TopicTail;
	/** Lateness, attempts and delivery counts per subscription (`/metrics`, `/lateness`). */
	metrics: TopicMetricsReader;
}

/** The client for one topic. Cheap: build one per request. */
export function topicClient(env: AppEnv, topic: string): TopicClient {
	const door = new Door(env, topic);
	return {
		admin: new TopicAdmin(door),
		messages: new TopicMessages(door),
		pull: new TopicPull(door),
		qstash: new TopicQstash(door),
		keys: new TopicKeys(door),
		tail: new TopicTail(door),
		metrics: new TopicMetricsReader(door),
	};
}
