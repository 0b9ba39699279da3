import { type RetryPolicy, retryDelayMs, sleep } from "../backoff.js";
import { SundialError } from "../errors.js";
import type { components } from "../generated/openapi.js";
import { eachItem, pageQuery } from "../paginate.js";
import { wireInstant } from "../time.js";
import type { Transport } from "../transport.js";
import type {
	BatchItemResult,
	CancelResult,
	DeliverNowResult,
	Message,
	MessageFilter,
	MessageSummary,
	Page,
	PageOptions,
	PublishInput,
	PublishResult,
	RescheduleInput,
	RescheduleResult,
} from "../types.js";

type WireMessage = components["schemas"]["PublishRequest"];

/** The API's largest batch (SUNDIAL_MAX_BATCH's default). */
export const MAX_BATCH = 1000;

/** Options of {@link Messages.publishBatch}. */
export interface PublishBatchOptions {
	/** Items per request; more are sent in several requests, one after the other. @default 1000 */
	batchSize?: number;
	signal?: AbortSignal;
}

/** Publishing, inspecting and steering messages. */
export class Messages {
	constructor(
		private readonly transport: Transport,
		private readonly retry: RetryPolicy,
	) {}

	/**
	 * Publishes one message → `{id, deliver_at}` (201), or `duplicate: true` when its `id` was
	 * published before (nothing is scheduled twice). With an `id` the call is retried on network
	 * errors and 429/503 (a repeat is a duplicate); without one it is sent once.
	 */
	async publish(topic: string, message: PublishInput, options: { signal?: AbortSignal } = {}): Promise<PublishResult> {
		return await this.transport.call("post", "/v1/topics/{topic}/messages", {
			params: { topic },
			body: toWire(message, ""),
			idempotent: message.id !== undefined,
			signal: options.signal,
		});
	}

	/**
	 * Publishes many messages → one result per item, in order: `{id, deliver_at}` (with
	 * `duplicate: true` for ids seen before) or `{error}`. Any number of items is sent in requests of
	 * `batchSize`. Items whose partition did not answer (`partition_unavailable`; the API names the id
	 * it routed them with) are sent again under that id, so each is stored once; whole requests are
	 * retried only when every item carries an `id`.
	 */
	async publishBatch(
		topic: string,
		messages: readonly PublishInput[],
		options: PublishBatchOptions = {},
	): Promise<BatchItemResult[]> {
		const size = Math.max(1, Math.min(options.batchSize ?? MAX_BATCH, MAX_BATCH));
		const wire = messages.map((m, i) => toWire(m, `[${i}].`));
		const results: BatchItemResult[] = [];
		for (let start = 0; start < wire.length; start += size) {
			results.push(...(await this.sendBatch(topic, wire.slice(start, start + size), options.signal)));
		}
		return results;
	}

	/** One request of ≤ 1000 items, then the items whose partition failed again under their ids. */
	private async sendBatch(topic: string, items: WireMessage[], signal?: AbortSignal): Promise<BatchItemResult[]> {
		const results = await this.postBatch(topic, items, signal);
		for (let retry = 1; retry <= this.retry.retries; retry++) {
			const again = results.flatMap((r, i) => (isPartitionFailure(r) ? [i] : []));
			if (again.length === 0) break;
			await sleep(retryDelayMs(this.retry, retry), signal);
			const items2 = again.map((i) => ({ ...(items[i] as WireMessage), id: (results[i] as { id: string }).id }));
			const results2 = await this.postBatch(topic, items2, signal);
			again.forEach((i, j) => {
				results[i] = results2[j] as BatchItemResult;
			});
		}
		return results;
	}

	private async postBatch(topic: string, items: WireMessage[], signal?: AbortSignal): Promise<BatchItemResult[]> {
		const res = await this.transport.call("post", "/v1/topics/{topic}/messages/batch", {
			params: { topic },
			body: items,
			idempotent: items.every((item) => item.id !== undefined),
			signal,
		});
		if (res.results.length !== items.length) {
			throw new SundialError(
				200,
				"invalid_response",
				`batch of ${items.length} answered ${res.results.length} results`,
			);
		}
		return res.results;
	}

	/** The message with each subscription's delivery: state, attempts, next attempt, last status and error. */
	get(topic: string, id: string): Promise<Message> {
		return this.transport.call("get", "/v1/topics/{topic}/messages/{id}", { params: { topic, id }, idempotent: true });
	}

	/** One page of messages, newest due first (no bodies; {@link get} has them). */
	async list(topic: string, filter: MessageFilter & PageOptions = {}): Promise<Page<MessageSummary>> {
		const { from, to, limit, cursor, ...rest } = filter;
		const res = await this.transport.call("get", "/v1/topics/{topic}/messages", {
			params: { topic },
			query: {
				...rest,
				...pageQuery({ limit, cursor }),
				...(from === undefined ? {} : { from: instant(from, "from") }),
				...(to === undefined ? {} : { to: instant(to, "to") }),
			},
			idempotent: true,
		});
		return { items: res.messages, next_cursor: res.next_cursor };
	}

	/** Every message matching `filter`, fetching pages as you iterate. */
	all(topic: string, filter: MessageFilter & PageOptions = {}): AsyncGenerator<MessageSummary, void, undefined> {
		return eachItem((page) => this.list(topic, { ...filter, ...page }), filter);
	}

	/** Cancels every pending delivery of the message → `{id, cancelled}` (how many). */
	cancel(topic: string, id: string): Promise<CancelResult> {
		return this.transport.call("delete", "/v1/topics/{topic}/messages/{id}", {
			params: { topic, id },
			idempotent: true,
		});
	}

	/** Delivers the message's scheduled deliveries now, whatever their due time → `{id, scheduled}`. */
	deliverNow(topic: string, id: string): Promise<DeliverNowResult> {
		return this.transport.call("post", "/v1/topics/{topic}/messages/{id}/deliver", {
			params: { topic, id },
			idempotent: true,
		});
	}

	/** Moves the message's scheduled deliveries to a new due time → `{id, deliver_at, scheduled}`. */
	async reschedule(topic: string, id: string, when: RescheduleInput): Promise<RescheduleResult> {
		const body =
			when.deliver_at !== undefined ? { deliver_at: instant(when.deliver_at, "deliver_at") } : { delay: when.delay };
		return this.transport.call("post", "/v1/topics/{topic}/messages/{id}/reschedule", {
			params: { topic, id },
			body,
			idempotent: true,
		});
	}
}

function isPartitionFailure(result: BatchItemResult): result is BatchItemResult & { id: string } {
	return "error" in result && result.error.code === "partition_unavailable" && typeof result.id === "string";
}

/** A message as the API reads it (`deliver_at` on the wire); `path` prefixes the issue of a bad instant. */
function toWire(message: PublishInput, path: string): WireMessage {
	if (message.deliver_at === undefined) return message as WireMessage;
	return { ...message, deliver_at: instant(message.deliver_at, `${path}deliver_at`) };
}

function instant(value: Parameters<typeof wireInstant>[0], path: string): string | number {
	try {
		return wireInstant(value);
	} catch (error) {
		throw new SundialError(0, "invalid_request", `${path}: ${(error as Error).message}`, {
			issues: [{ path, message: (error as Error).message }],
		});
	}
}
