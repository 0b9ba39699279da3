import { eachItem, pageQuery } from "../paginate.js";
import type { Transport } from "../transport.js";
import type { KeyLimits, KeyLimitsConfig, Page, PageOptions } from "../types.js";

/** Limits on one message key (a customer, a tenant), for all subscriptions of a topic together. */
export class KeyLimitsResource {
	constructor(private readonly transport: Transport) {}

	/** Sets the key's limits (`rate`, `parallelism`, `paused`) and answers them with the key's counts. */
	set(topic: string, key: string, limits: KeyLimitsConfig): Promise<KeyLimits> {
		return this.transport.call("put", "/v1/topics/{topic}/keys/{key}", {
			params: { topic, key },
			body: limits,
			idempotent: true,
		});
	}

	/** The key's limits and counts. */
	get(topic: string, key: string): Promise<KeyLimits> {
		return this.transport.call("get", "/v1/topics/{topic}/keys/{key}", { params: { topic, key }, idempotent: true });
	}

	/** One page of the keys with limits. */
	async list(topic: string, page: PageOptions = {}): Promise<Page<KeyLimits>> {
		const res = await this.transport.call("get", "/v1/topics/{topic}/keys", {
			params: { topic },
			query: pageQuery(page),
			idempotent: true,
		});
		return { items: res.keys, next_cursor: res.next_cursor };
	}

	/** Every key with limits, fetching pages as you iterate. */
	all(topic: string, page: PageOptions = {}): AsyncGenerator<KeyLimits, void, undefined> {
		return eachItem((p) => this.list(topic, p), page);
	}

	/** Removes the key's limits → `{deleted}` (false when it had none). */
	delete(topic: string, key: string): Promise<{ deleted: boolean }> {
		return this.transport.call("delete", "/v1/topics/{topic}/keys/{key}", { params: { topic, key }, idempotent: true });
	}
}
