import { eachItem, pageQuery } from "../paginate.js";
import type { Transport } from "../transport.js";
import type { DeadDelivery, Page, PageOptions, PurgeResult, RedriveResult } from "../types.js";

/** Dead letters of a subscription: deliveries that used up their attempts. */
export class DeadLetters {
	constructor(private readonly transport: Transport) {}

	/** One page of dead deliveries with their last status and error. */
	async list(topic: string, subscription: string, page: PageOptions = {}): Promise<Page<DeadDelivery>> {
		const res = await this.transport.call("get", "/v1/topics/{topic}/subscriptions/{name}/dead", {
			params: { topic, name: subscription },
			query: pageQuery(page),
			idempotent: true,
		});
		return { items: res.dead, next_cursor: res.next_cursor };
	}

	/** Every dead delivery, fetching pages as you iterate. */
	all(topic: string, subscription: string, page: PageOptions = {}): AsyncGenerator<DeadDelivery, void, undefined> {
		return eachItem((p) => this.list(topic, subscription, p), page);
	}

	/**
	 * Schedules dead deliveries again now, attempts reset: the given message ids (each must be dead,
	 * else 409 `not_dead` and nothing changes), or all of them → `{redriven, pending}`. Sent once
	 * (a repeat after an unseen success would answer `not_dead`).
	 */
	redrive(topic: string, subscription: string, ids?: readonly string[]): Promise<RedriveResult> {
		return this.transport.call("post", "/v1/topics/{topic}/subscriptions/{name}/dead/redrive", {
			params: { topic, name: subscription },
			body: ids === undefined ? {} : { ids: [...ids] },
			idempotent: false,
		});
	}

	/** Deletes every dead delivery of the subscription → `{purged, pending}`. */
	purge(topic: string, subscription: string): Promise<PurgeResult> {
		return this.transport.call("delete", "/v1/topics/{topic}/subscriptions/{name}/dead", {
			params: { topic, name: subscription },
			idempotent: true,
		});
	}
}
