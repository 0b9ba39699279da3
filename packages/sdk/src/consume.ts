import { type RetryPolicy, retryDelayMs, sleep } from "./backoff.js";
import { SundialError } from "./errors.js";
import type { Pull } from "./resources/pull.js";
import { type Duration, parseDurationMs } from "./time.js";
import type { PulledMessage } from "./types.js";

/** Which pull subscription to consume. */
export interface SubscriptionRef {
	topic: string;
	subscription: string;
}

/** What a handler gets beside the message. */
export interface HandlerContext {
	/**
	 * Aborted when the message's lease was lost (an extension answered `false`): the message will be
	 * delivered again, so the handler may give up. Stopping the consumer does not abort it.
	 */
	signal: AbortSignal;
}

/** Handles one message; returning acks it, throwing nacks it. */
export type MessageHandler = (message: PulledMessage, context: HandlerContext) => unknown;

/** Options of {@link consume}. */
export interface ConsumeOptions {
	/** Handlers running at once. @default 1 */
	concurrency?: number;
	/**
	 * Stops the consumer: no new receives; handlers of messages already received (running or
	 * prefetched) finish and are acked, then it resolves.
	 */
	signal?: AbortSignal;
	/** Messages received ahead of free handler slots (their leases are kept too), so a slot rarely waits for a receive. @default concurrency */
	prefetch?: number;
	/** Lease asked for on each receive and each extension; leases are extended every half of it. @default "30s" */
	visibilityTimeout?: Duration;
	/** Long poll of each receive (≤ 20 s). @default "20s" */
	wait?: Duration;
	/** Delay of a nack after the handler threw. @default the subscription's backoff */
	nackDelay?: Duration;
	/**
	 * Told of each failure the consumer survives: a handler that threw (`message` given; it was
	 * nacked), a receive, ack, nack or extend that failed, a lease that was lost.
	 */
	onError?: (error: unknown, message?: PulledMessage) => void;
}

/** What a consumer did, when it resolves. */
export interface ConsumeSummary {
	/** Handlers that returned (their messages acked, or the ack attempted). */
	handled: number;
	/** Handlers that threw (their messages nacked). */
	failed: number;
}

/** Statuses that mean the consumer can never succeed (bad token, unknown or non-pull subscription). */
const FATAL_STATUSES = new Set([400, 401, 403, 404, 405, 409, 415]);

/**
 * Runs a pull consumer until `options.signal` aborts: long-polls for due messages, runs up to
 * `concurrency` handlers at once, extends each lease while its handler runs, acks when the handler
 * returns and nacks when it throws. On abort it stops receiving (the waiting long poll is dropped),
 * lets running handlers finish, sends their acks and nacks, and resolves with what it did. It rejects
 * (after the same drain) when the API answers in a way no retry can fix (401, 403, 404, 409 …);
 * network errors, 429 and 5xx are reported to `onError` and retried with backoff.
 */
export async function consume(
	pull: Pull,
	retry: RetryPolicy,
	ref: SubscriptionRef,
	handler: MessageHandler,
	options: ConsumeOptions = {},
): Promise<ConsumeSummary> {
	const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
	const visibility = options.visibilityTimeout ?? "30s";
	const extendEveryMs = Math.max(100, parseDurationMs(visibility) / 2);
	const report = options.onError ?? (() => {});
	const stop = options.signal;
	const polls = new AbortController();
	const onStop = () => polls.abort(stop?.reason);
	stop?.addEventListener("abort", onStop, { once: true });

	const prefetch = Math.max(0, Math.floor(options.prefetch ?? concurrency));
	const settle = new Settler(pull, ref, options.nackDelay, report);
	const buffer: { message: PulledMessage; lease: LeaseKeeper }[] = [];
	const running = new Set<Promise<void>>();
	const summary: ConsumeSummary = { handled: 0, failed: 0 };
	let wake: (() => void) | undefined;
	let fatal: unknown;
	let failures = 0;

	const run = async (message: PulledMessage, lease: LeaseKeeper) => {
		try {
			await handler(message, { signal: lease.lost.signal });
			summary.handled++;
			settle.ack(message.receipt);
		} catch (error) {
			summary.failed++;
			report(error, message);
			settle.nack(message.receipt);
		} finally {
			lease.stop();
		}
	};
	// Starts buffered messages while slots are free.
	const pump = () => {
		while (running.size < concurrency && buffer.length > 0) {
			const next = buffer.shift() as (typeof buffer)[number];
			const task = run(next.message, next.lease).finally(() => {
				running.delete(task);
				pump();
				wake?.();
			});
			running.add(task);
		}
	};

	try {
		while (!stop?.aborted) {
			const room = concurrency + prefetch - running.size - buffer.length;
			// Receive when half the room is free (or nothing waits): fewer, fuller receives.
			if (room <= 0 || (buffer.length > 0 && room < Math.ceil((concurrency + prefetch) / 2))) {
				await new Promise<void>((resolve) => {
					wake = resolve;
				});
				continue;
			}
			let messages: PulledMessage[];
			try {
				messages = await pull.receive(
					ref.topic,
					ref.subscription,
					{ max: Math.min(100, room), wait: options.wait ?? "20s", visibility_timeout: visibility },
					{ signal: polls.signal },
				);
				failures = 0;
			} catch (error) {
				if (stop?.aborted) break;
				if (error instanceof SundialError && FATAL_STATUSES.has(error.status)) {
					fatal = error;
					break;
				}
				report(error);
				failures++;
				await sleep(retryDelayMs(retry, Math.min(failures, 8)) + 50, polls.signal).catch(() => {});
				continue;
			}
			// Messages already leased are handled even when a stop came meanwhile: they are ours.
			for (const message of messages) {
				buffer.push({ message, lease: new LeaseKeeper(pull, ref, message, visibility, extendEveryMs, report) });
			}
			pump();
		}
	} finally {
		stop?.removeEventListener("abort", onStop);
		while (running.size > 0) await Promise.all(running);
		await settle.drain();
	}
	if (fatal !== undefined) throw fatal;
	return summary;
}

/** Extends one lease every `everyMs` while its handler runs. */
class LeaseKeeper {
	readonly lost = new AbortController();
	private readonly timer: ReturnType<typeof setInterval>;

	constructor(
		pull: Pull,
		ref: SubscriptionRef,
		message: PulledMessage,
		visibility: Duration,
		everyMs: number,
		report: (error: unknown, message?: PulledMessage) => void,
	) {
		this.timer = setInterval(() => {
			pull.extend(ref.topic, ref.subscription, message.receipt, visibility).then(
				(res) => {
					if (res.extended || this.lost.signal.aborted) return;
					const error = new SundialError(0, "lease_lost", `the lease of message ${message.id} is gone`);
					this.stop();
					this.lost.abort(error);
					report(error, message);
				},
				(error: unknown) => report(error, message),
			);
		}, everyMs);
	}

	stop(): void {
		clearInterval(this.timer);
	}
}

/**
 * Sends acks and nacks in batches: one request of each kind at a time, carrying every receipt
 * queued while the previous one was on the wire (up to 100).
 */
class Settler {
	private readonly queues = { ack: [] as string[], nack: [] as string[] };
	private readonly sending = { ack: null as Promise<void> | null, nack: null as Promise<void> | null };

	constructor(
		private readonly pull: Pull,
		private readonly ref: SubscriptionRef,
		private readonly nackDelay: Duration | undefined,
		private readonly report: (error: unknown) => void,
	) {}

	ack(receipt: string): void {
		this.queues.ack.push(receipt);
		this.kick("ack");
	}

	nack(receipt: string): void {
		this.queues.nack.push(receipt);
		this.kick("nack");
	}

	/** Resolves when every queued receipt was sent. */
	async drain(): Promise<void> {
		while (this.sending.ack || this.sending.nack) await Promise.all([this.sending.ack, this.sending.nack]);
	}

	private kick(kind: "ack" | "nack"): void {
		if (this.sending[kind]) return;
		this.sending[kind] = this.loop(kind).finally(() => {
			this.sending[kind] = null;
		});
	}

	private async loop(kind: "ack" | "nack"): Promise<void> {
		const queue = this.queues[kind];
		while (queue.length > 0) {
			const receipts = queue.splice(0, 100);
			try {
				if (kind === "ack") await this.pull.ack(this.ref.topic, this.ref.subscription, receipts);
				else await this.pull.nack(this.ref.topic, this.ref.subscription, receipts, { delay: this.nackDelay });
			} catch (error) {
				// The leases expire and the messages come back: at-least-once, nothing lost.
				this.report(error);
			}
		}
	}
}
