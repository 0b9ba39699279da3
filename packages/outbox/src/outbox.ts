import { AlarmKeeper } from "./alarm";
import { Forwarder, type ForwardSettings } from "./forwarder";
import { prepareMessage } from "./message";
import { migrate } from "./schema";
import { OutboxStore } from "./store";
import type { DeadMessage, OutboxMessage, OutboxOptions, OutboxStats, SundialPublisher } from "./types";

function setting(
	options: OutboxOptions,
	name: keyof OutboxOptions,
	fallback: number,
	min: number,
	max: number,
): number {
	const value = options[name] ?? fallback;
	if (!Number.isInteger(value) || value < min || value > max) {
		throw new RangeError(`sundial-outbox: ${name} must be an integer from ${min} to ${max}, got ${value}`);
	}
	return value;
}

function settingsOf(options: OutboxOptions): ForwardSettings {
	const minBackoffMs = setting(options, "minBackoffMs", 1_000, 1, 3_600_000);
	return {
		batchSize: setting(options, "batchSize", 100, 1, 1000),
		maxCallsPerAlarm: setting(options, "maxCallsPerAlarm", 20, 1, 1000),
		minBackoffMs,
		maxBackoffMs: setting(options, "maxBackoffMs", 300_000, minBackoffMs, 86_400_000),
	};
}

/**
 * A transactional outbox for your own Durable Object (README of sundial-outbox): `publish()` writes
 * a message to Sundial in the same SQLite transaction as your rows, and your `alarm()` calls
 * `alarm()` here to send what is waiting. Create one per object, in its constructor or as a field.
 */
export class Outbox {
	private readonly storage: DurableObjectStorage;
	private readonly store: OutboxStore;
	private readonly alarms: AlarmKeeper;
	private readonly forwarder: Forwarder;
	private running: Promise<boolean> | null = null;
	private armQueued = false;

	/**
	 * @param ctx your Durable Object's `ctx` (a SQLite-backed class: `new_sqlite_classes`)
	 * @param sundial the service binding to Sundial's `PublishEntrypoint`
	 */
	constructor(ctx: { storage: DurableObjectStorage }, sundial: SundialPublisher, options: OutboxOptions = {}) {
		this.storage = ctx.storage;
		migrate(this.storage);
		this.store = new OutboxStore(this.storage.sql);
		this.alarms = new AlarmKeeper(this.storage, this.store);
		this.forwarder = new Forwarder(this.storage, this.store, sundial, settingsOf(options));
		// A watchdog: after a crash or a deploy, the first touch of the object re-arms a missing alarm.
		this.armSoon();
	}

	/**
	 * Writes `message` for `topic` into the outbox, as part of the current transaction: call it
	 * inside your `ctx.storage.transactionSync(() => …)` (or with no `await` between it and your
	 * writes). If the transaction rolls back, nothing is published. Returns the message id (yours,
	 * or one generated now), under which Sundial will store it exactly once. Throws an OutboxError
	 * for a message that could never be sent (bad topic or id, bad `delay`, no body, too large).
	 * Right after your synchronous code, it makes sure the alarm fires no later than needed.
	 */
	publish(topic: string, message: OutboxMessage): string {
		const nowMs = Date.now();
		const prepared = prepareMessage(topic, message, nowMs);
		this.store.insert(topic, prepared.id, prepared.json, nowMs);
		this.armSoon();
		return prepared.id;
	}

	/**
	 * Call from your `alarm()` handler, every time: sends the messages that are due and re-arms the
	 * alarm for what is left (never later than a time of yours it displaced). True when there was
	 * outbox work to do. Never throws for Sundial's failures: those wait and are retried.
	 */
	alarm(): Promise<boolean> {
		this.running ??= this.runAlarm().finally(() => {
			this.running = null;
		});
		return this.running;
	}

	/** Sets your own alarm without delaying the outbox's: use it instead of `ctx.storage.setAlarm()`. */
	setAlarm(scheduledTime: number | Date): Promise<void> {
		const atMs = typeof scheduledTime === "number" ? scheduledTime : scheduledTime.getTime();
		if (!Number.isFinite(atMs)) throw new RangeError("sundial-outbox: setAlarm needs a time");
		return this.alarms.setYours(atMs);
	}

	/** Cancels your own alarm and keeps the outbox's: use it instead of `ctx.storage.deleteAlarm()`. */
	deleteAlarm(): Promise<void> {
		return this.alarms.deleteYours();
	}

	/** How many messages wait, how many are dead, and each waiting topic's state. */
	stats(): OutboxStats {
		return this.store.stats();
	}

	/** Messages Sundial refused as bad input, oldest first: pass the last one's `seq` as `after` for the next page. */
	dead(options: { limit?: number; after?: number } = {}): DeadMessage[] {
		const limit = Math.min(Math.max(1, Math.trunc(options.limit ?? 100)), 1000);
		return this.store.dead(limit, options.after ?? 0);
	}

	/** Queues dead messages again (same id and content) at the end of their topics; returns how many. */
	retryDead(ids: readonly string[]): number {
		const moved = this.store.retryDead(ids, Date.now());
		if (moved > 0) this.armSoon();
		return moved;
	}

	/** Deletes dead messages by id, or all of them; returns how many. */
	discardDead(ids?: readonly string[]): number {
		return this.store.discardDead(ids ?? null);
	}

	private async runAlarm(): Promise<boolean> {
		this.alarms.alarmStarted(Date.now());
		try {
			const summary = await this.forwarder.run();
			return summary.calls > 0;
		} finally {
			await this.alarms.ensure();
		}
	}

	/** Re-arms once the caller's synchronous code (and so its transaction) is over. */
	private armSoon(): void {
		if (this.armQueued) return;
		this.armQueued = true;
		Promise.resolve()
			.then(() => {
				this.armQueued = false;
				return this.alarms.ensure();
			})
			.catch((error: unknown) => console.error("sundial-outbox: could not set the alarm", error));
	}
}
