import { DurableObject } from "cloudflare:workers";
import {
	Outbox,
	type OutboxMessage,
	type OutboxOptions,
	type PublishReply,
	type SundialPublisher,
} from "sundial-outbox";

/** The bindings the outbox tests add to Sundial's (vitest.outbox.config.ts). */
export interface ProbeEnv {
	SUNDIAL: SundialPublisher;
	OUTBOX_PROBE: DurableObjectNamespace<OutboxProbe>;
}

/**
 * How the probe's link to Sundial behaves: `up` passes calls through; `down` throws without
 * sending (Sundial unreachable); `lose-answer` sends, then throws (the answer is lost);
 * `crash` sends, then aborts the object before the outbox can delete anything (once: the mode is
 * `up` again after the crash; `lose-answer` too); `max-batch-2` answers larger batches as a
 * Sundial with `SUNDIAL_MAX_BATCH=2` does (a 413 `batch_too_large`).
 */
export type LinkMode = "up" | "down" | "lose-answer" | "crash" | "max-batch-2";

/** One call that reached Sundial: the ids sent and what Sundial answered. */
export interface SendRecord {
	topic: string;
	ids: string[];
	replies: PublishReply[];
}

// Kept outside the object so that they survive the object's abort (same isolate), keyed by object id.
const sendsByObject = new Map<string, SendRecord[]>();
const modeByObject = new Map<string, LinkMode>();
const optionsByObject = new Map<string, OutboxOptions>();
const DEFAULT_OPTIONS: OutboxOptions = { minBackoffMs: 100, maxBackoffMs: 800 };

/**
 * A Durable Object written the way a user would write one with the outbox: its own table
 * (`orders`), `publish` inside `transactionSync`, `await outbox.alarm()` in its `alarm()`, and its
 * own alarm use (recorded in `alarm_runs`). Test hooks change only the link to Sundial.
 */
export class OutboxProbe extends DurableObject<ProbeEnv> {
	private outbox: Outbox;

	constructor(ctx: DurableObjectState, env: ProbeEnv) {
		super(ctx, env);
		ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, item TEXT NOT NULL)");
		ctx.storage.sql.exec(
			"CREATE TABLE IF NOT EXISTS alarm_runs (at_ms INTEGER NOT NULL, outbox_worked INTEGER NOT NULL)",
		);
		this.outbox = this.makeOutbox(optionsByObject.get(ctx.id.toString()) ?? DEFAULT_OPTIONS);
	}

	private makeOutbox(options: OutboxOptions): Outbox {
		const link: SundialPublisher = {
			publishBatch: async (topic, messages) => {
				const key = this.ctx.id.toString();
				const mode = modeByObject.get(key) ?? "up";
				if (mode === "down") throw new Error("Sundial is unreachable (test)");
				if (mode === "max-batch-2" && messages.length > 2) {
					const message = `a batch holds at most 2 messages, got ${messages.length}`;
					throw Object.assign(new Error(message), { code: "batch_too_large", status: 413 });
				}
				const replies = await this.env.SUNDIAL.publishBatch(topic, messages);
				const ids = messages.map((m) => (m as { id: string }).id);
				sendsByObject.set(key, [...(sendsByObject.get(key) ?? []), { topic, ids, replies }]);
				if (mode === "lose-answer" || mode === "crash") modeByObject.set(key, "up");
				if (mode === "lose-answer") throw new Error("the answer was lost (test)");
				if (mode === "crash") this.ctx.abort("crash between send and delete (test)");
				return replies;
			},
		};
		return new Outbox(this.ctx, link, options);
	}

	/** Sets how the link behaves, and optionally new outbox options. */
	configure(mode: LinkMode, options?: OutboxOptions): void {
		modeByObject.set(this.ctx.id.toString(), mode);
		if (options) {
			optionsByObject.set(this.ctx.id.toString(), options);
			this.outbox = this.makeOutbox(options);
		}
	}

	/**
	 * Saves an order and publishes its message in one transaction, returning the message id; with
	 * `rollback`, the transaction throws after publishing and this returns what it threw.
	 */
	placeOrder(orderId: string, topic: string, message: OutboxMessage, rollback = false): string | { thrown: string } {
		try {
			return this.ctx.storage.transactionSync(() => {
				this.ctx.storage.sql.exec("INSERT INTO orders (id, item) VALUES (?, ?)", orderId, "tea");
				const id = this.outbox.publish(topic, message);
				if (rollback) throw new Error("the order was refused after publishing (test)");
				return id;
			});
		} catch (error) {
			return { thrown: String(error) };
		}
	}

	orderIds(): string[] {
		return this.ctx.storage.sql
			.exec<{ id: string }>("SELECT id FROM orders ORDER BY id")
			.toArray()
			.map((r) => r.id);
	}

	/** Records each run with the time it started (an alarm never fires before its time). */
	override async alarm(): Promise<void> {
		const startedAtMs = Date.now();
		const worked = await this.outbox.alarm();
		this.ctx.storage.sql.exec(
			"INSERT INTO alarm_runs (at_ms, outbox_worked) VALUES (?, ?)",
			startedAtMs,
			worked ? 1 : 0,
		);
	}

	alarmRuns(): { atMs: number; outboxWorked: boolean }[] {
		return this.ctx.storage.sql
			.exec<{ at_ms: number; outbox_worked: number }>("SELECT at_ms, outbox_worked FROM alarm_runs ORDER BY rowid")
			.toArray()
			.map((r) => ({ atMs: r.at_ms, outboxWorked: r.outbox_worked === 1 }));
	}

	stats() {
		return this.outbox.stats();
	}

	/** The dead messages, as JSON (their bodies are `unknown`, which RPC types cannot carry). */
	dead(): string {
		return JSON.stringify(this.outbox.dead());
	}

	retryDead(ids: string[]): number {
		return this.outbox.retryDead(ids);
	}

	sends(): SendRecord[] {
		return sendsByObject.get(this.ctx.id.toString()) ?? [];
	}

	/** The alarm and the outbox's state, read together (no alarm run can come in between). */
	async alarmAndStats() {
		return { alarmAtMs: await this.ctx.storage.getAlarm(), stats: this.outbox.stats() };
	}

	getAlarm(): Promise<number | null> {
		return this.ctx.storage.getAlarm();
	}

	/** Your own alarm, set past the outbox (as code unaware of it would). */
	setAlarmDirectly(atMs: number): Promise<void> {
		return this.ctx.storage.setAlarm(atMs);
	}

	/** Deletes the alarm past the outbox (what its README says not to do). */
	deleteAlarmDirectly(): Promise<void> {
		return this.ctx.storage.deleteAlarm();
	}

	/** Resets the object right after answering, as a crash or a deploy would; the next call starts a new instance. */
	restart(): void {
		setTimeout(() => this.ctx.abort("restart (test)"), 0);
	}

	setAlarmViaOutbox(atMs: number): Promise<void> {
		return this.outbox.setAlarm(atMs);
	}

	deleteAlarmViaOutbox(): Promise<void> {
		return this.outbox.deleteAlarm();
	}
}
