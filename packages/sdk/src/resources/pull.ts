import { type Duration, parseDurationMs } from "../time.js";
import type { Transport } from "../transport.js";
import type { AckResult, ExtendResult, PulledMessage, ReceiveOptions } from "../types.js";

/** Pull consumers: lease due messages, then ack, nack or extend them by receipt. */
export class Pull {
	constructor(private readonly transport: Transport) {}

	/**
	 * Leases up to `max` due messages (1–100, default 10), waiting up to `wait` (≤ 20 s, default 0)
	 * for one to come due. Sent once: a lost answer's leases expire and count as an attempt.
	 */
	async receive(
		topic: string,
		subscription: string,
		options: ReceiveOptions = {},
		call: { signal?: AbortSignal } = {},
	): Promise<PulledMessage[]> {
		const res = await this.transport.call("post", "/v1/topics/{topic}/subscriptions/{name}/receive", {
			params: { topic, name: subscription },
			body: options,
			idempotent: false,
			extraTimeoutMs: options.wait === undefined ? 0 : safeMs(options.wait),
			signal: call.signal,
		});
		return res.messages;
	}

	/**
	 * Acks leases → `{results: {receipt: boolean}}` (`false`: the lease is gone, e.g. the message was
	 * leased again). Retried on network errors; a retry after an unseen success answers `false` for
	 * the receipts the first attempt acked.
	 */
	ack(topic: string, subscription: string, receipts: readonly string[]): Promise<AckResult> {
		return this.transport.call("post", "/v1/topics/{topic}/subscriptions/{name}/ack", {
			params: { topic, name: subscription },
			body: { receipts: [...receipts] },
			idempotent: true,
		});
	}

	/** Gives leases back: scheduled again after `delay`, or the subscription's backoff (the attempt counts). */
	nack(
		topic: string,
		subscription: string,
		receipts: readonly string[],
		options: { delay?: Duration } = {},
	): Promise<AckResult> {
		return this.transport.call("post", "/v1/topics/{topic}/subscriptions/{name}/nack", {
			params: { topic, name: subscription },
			body: { receipts: [...receipts], ...(options.delay === undefined ? {} : { delay: options.delay }) },
			idempotent: false,
		});
	}

	/** Moves a lease's end to `visibility_timeout` from now → `{receipt, extended, lease_expires_at}`. */
	extend(topic: string, subscription: string, receipt: string, visibilityTimeout: Duration): Promise<ExtendResult> {
		return this.transport.call("post", "/v1/topics/{topic}/subscriptions/{name}/extend", {
			params: { topic, name: subscription },
			body: { receipt, visibility_timeout: visibilityTimeout },
			idempotent: true,
		});
	}
}

/** A duration in ms for timeouts; 0 when the API would refuse it anyway (it answers the 400). */
function safeMs(value: Duration): number {
	try {
		return parseDurationMs(value);
	} catch {
		return 0;
	}
}
