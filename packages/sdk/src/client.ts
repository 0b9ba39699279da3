import { type RetryOptions, type RetryPolicy, retryPolicy } from "./backoff.js";
import {
	type ConsumeOptions,
	type ConsumeSummary,
	consume,
	type MessageHandler,
	type SubscriptionRef,
} from "./consume.js";
import { DeadLetters } from "./resources/dead.js";
import { KeyLimitsResource } from "./resources/keys.js";
import { Messages } from "./resources/messages.js";
import { Pull } from "./resources/pull.js";
import { Schedules } from "./resources/schedules.js";
import { Subscriptions } from "./resources/subscriptions.js";
import { Tokens } from "./resources/tokens.js";
import { Topics } from "./resources/topics.js";
import { type TailEvent, type TailOptions, tailTopic } from "./tail.js";
import { Transport } from "./transport.js";

/** How to reach a Sundial Worker. */
export interface SundialOptions {
	/** The Worker's base URL, e.g. `"https://sundial.example.workers.dev"` (a trailing `/` is ignored). */
	url: string;
	/** A bearer token: the admin `SUNDIAL_TOKEN` or a scoped one. */
	token: string;
	/** Retries of idempotent calls after network errors and 429/503; `false` for none. @default {retries: 3, baseDelayMs: 250, maxDelayMs: 10_000} */
	retry?: RetryOptions | false;
	/** Per-attempt timeout (a long poll adds its wait). @default 30_000 */
	timeoutMs?: number;
	/** The fetch to use (a service binding's `fetch`, a test's). @default globalThis.fetch */
	fetch?: typeof fetch;
	/** Headers sent with every request (beside `authorization`). @default {} */
	headers?: Record<string, string>;
	/** Called with `"METHOD /v1/path/{template}"` before each request (logging, metrics). */
	onRequest?: (route: string) => void;
}

/**
 * A client of one Sundial Worker's `/v1` API, one small object per resource:
 *
 * ```ts
 * const sundial = new Sundial({ url: "http://127.0.0.1:8787", token: process.env.SUNDIAL_TOKEN! });
 * await sundial.topics.upsert("orders");
 * await sundial.messages.publish("orders", { body: { order: 42 }, delay: "30s", id: "order-42" });
 * ```
 *
 * Partitioned topics need nothing special: lists, counts and pull span every partition, and batch
 * items whose partition failed are sent again under their ids.
 */
export class Sundial {
	readonly topics: Topics;
	readonly subscriptions: Subscriptions;
	readonly messages: Messages;
	readonly schedules: Schedules;
	readonly dead: DeadLetters;
	readonly pull: Pull;
	/** Key limits (`/v1/topics/{topic}/keys/{key}`). */
	readonly keys: KeyLimitsResource;
	/** Scoped tokens (admin). */
	readonly tokens: Tokens;
	private readonly retry: RetryPolicy;
	private readonly transport: Transport;

	constructor(options: SundialOptions) {
		if (!/^https?:\/\//.test(options.url))
			throw new TypeError(`url must start with http:// or https://, got "${options.url}"`);
		if (!options.token) throw new TypeError("token is required");
		this.retry = retryPolicy(options.retry);
		const transport = new Transport({
			baseUrl: options.url.replace(/\/+$/, ""),
			token: options.token,
			fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
			retry: this.retry,
			timeoutMs: options.timeoutMs ?? 30_000,
			headers: options.headers ?? {},
			onRequest: options.onRequest,
		});
		this.topics = new Topics(transport);
		this.subscriptions = new Subscriptions(transport);
		this.messages = new Messages(transport, this.retry);
		this.schedules = new Schedules(transport);
		this.dead = new DeadLetters(transport);
		this.pull = new Pull(transport);
		this.keys = new KeyLimitsResource(transport);
		this.tokens = new Tokens(transport);
		this.transport = transport;
	}

	/**
	 * A topic's live delivery events (`for await (const e of sundial.tail("orders")) …`), over a
	 * WebSocket: runtimes with a global WebSocket (Node ≥ 22, browsers, Deno).
	 */
	tail(topic: string, options: TailOptions = {}): AsyncGenerator<TailEvent> {
		return tailTopic(this.transport, topic, options);
	}

	/**
	 * Runs `handler` for every message of a pull subscription until `options.signal` aborts: long
	 * polls, extends leases while handlers run, acks on return, nacks on throw, and on abort lets
	 * running handlers finish before it resolves. See {@link ConsumeOptions}.
	 */
	consume(ref: SubscriptionRef, handler: MessageHandler, options: ConsumeOptions = {}): Promise<ConsumeSummary> {
		return consume(this.pull, this.retry, ref, handler, options);
	}
}
