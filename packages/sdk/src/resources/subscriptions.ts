import { eachItem, pageQuery } from "../paginate.js";
import type { Transport } from "../transport.js";
import type {
	BlockedKey,
	Page,
	PageOptions,
	Subscription,
	SubscriptionConfig,
	SubscriptionDetail,
	SubscriptionWithSecret,
} from "../types.js";

/** Subscriptions of a topic: webhook, queue or pull, with their counts and what holds them back. */
export class Subscriptions {
	constructor(private readonly transport: Transport) {}

	/**
	 * Creates the subscription, or replaces its configuration (pending deliveries stay and follow it).
	 * A new webhook subscription's answer carries its signing `secret` once; a replacement's is `null`.
	 */
	upsert(topic: string, name: string, config: SubscriptionConfig): Promise<SubscriptionWithSecret> {
		return this.transport.call("put", "/v1/topics/{topic}/subscriptions/{name}", {
			params: { topic, name },
			body: config,
			idempotent: true,
		});
	}

	/** One subscription: configuration (never the secret), counts, lag, held-back and blocked keys. */
	get(topic: string, name: string): Promise<SubscriptionDetail> {
		return this.transport.call("get", "/v1/topics/{topic}/subscriptions/{name}", {
			params: { topic, name },
			idempotent: true,
		});
	}

	/** Every subscription of the topic (at most 100, not paginated). */
	async list(topic: string): Promise<Subscription[]> {
		const res = await this.transport.call("get", "/v1/topics/{topic}/subscriptions", {
			params: { topic },
			idempotent: true,
		});
		return res.subscriptions;
	}

	/** Removes the subscription and all its deliveries. */
	delete(topic: string, name: string): Promise<{ name: string; deleted: true }> {
		return this.transport.call("delete", "/v1/topics/{topic}/subscriptions/{name}", {
			params: { topic, name },
			idempotent: true,
		});
	}

	/** One page of the keys whose due deliveries cannot go now, and why. */
	async blockedKeys(topic: string, name: string, page: PageOptions = {}): Promise<Page<BlockedKey>> {
		const res = await this.transport.call("get", "/v1/topics/{topic}/subscriptions/{name}/blocked-keys", {
			params: { topic, name },
			query: pageQuery(page),
			idempotent: true,
		});
		return { items: res.keys, next_cursor: res.next_cursor };
	}

	/** Every blocked key, fetching pages as you iterate. */
	allBlockedKeys(topic: string, name: string, page: PageOptions = {}): AsyncGenerator<BlockedKey, void, undefined> {
		return eachItem((p) => this.blockedKeys(topic, name, p), page);
	}
}
