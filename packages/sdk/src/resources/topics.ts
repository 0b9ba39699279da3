import { eachItem, pageQuery } from "../paginate.js";
import type { Transport } from "../transport.js";
import type { Lateness, Page, PageOptions, Topic, TopicConfig, TopicSummary } from "../types.js";

/** Topics: create, read, list, delete. */
export class Topics {
	constructor(private readonly transport: Transport) {}

	/**
	 * Creates the topic or replaces its configuration (an omitted `retention` is the default again;
	 * `partitions` is fixed at creation: a different count is a 409 `partitions_fixed`).
	 */
	upsert(topic: string, config: TopicConfig = {}): Promise<Topic> {
		return this.transport.call("put", "/v1/topics/{topic}", { params: { topic }, body: config, idempotent: true });
	}

	/** The topic's configuration and totals per delivery state. */
	get(topic: string): Promise<Topic> {
		return this.transport.call("get", "/v1/topics/{topic}", { params: { topic }, idempotent: true });
	}

	/** One page of topic names. */
	async list(page: PageOptions = {}): Promise<Page<TopicSummary>> {
		const res = await this.transport.call("get", "/v1/topics", {
			params: undefined,
			query: pageQuery(page),
			idempotent: true,
		});
		return { items: res.topics, next_cursor: res.next_cursor };
	}

	/** Every topic, fetching pages as you iterate. */
	all(page: PageOptions = {}): AsyncGenerator<TopicSummary, void, undefined> {
		return eachItem((p) => this.list(p), page);
	}

	/**
	 * How late each push attempt left after its due time, in fixed buckets (`buckets_ms`; `counts` has
	 * one more, for later than the last), and attempts by outcome, per subscription, summed over
	 * partitions and cumulative.
	 */
	lateness(topic: string): Promise<Lateness> {
		return this.transport.call("get", "/v1/topics/{topic}/lateness", { params: { topic }, idempotent: true });
	}

	/** Deletes the topic and everything in it. */
	delete(topic: string): Promise<{ name: string; deleted: true }> {
		return this.transport.call("delete", "/v1/topics/{topic}", { params: { topic }, idempotent: true });
	}
}
