import { DurableObject } from "cloudflare:workers";
import { type AppEnv, getConfig } from "../config";
import { AppError, Conflict, fail, NotFound, ok, type Result } from "../errors";
import { logEvent } from "../log";
import { Alarm } from "./alarm";
import { CallbackOutbox } from "./callback-outbox";
import { dispatchDue, nextWorkAtMs, recordOutcomes } from "./dispatcher";
import { FlowControl } from "./flow";
import { IdClaims } from "./id-claims";
import { KeyLimits } from "./key-limits";
import { nextMaintenanceAtMs, runMaintenance } from "./maintenance";
import { PullConsumers } from "./pull";
import { STARTED_IN_FLIGHT } from "./rate-window";
import { migrate } from "./schema";
import { type PartitionSetup, planSetup } from "./setup";
import { topicView } from "./stats";
import { Steering } from "./steering";
import { type AttemptRecord, TopicStore } from "./store";
import { AdminStore } from "./store-admin";
import { FlowStore } from "./store-flow";
import { Subscriptions } from "./subscriptions";
import { TailFeed } from "./tail-feed";
import { type Route, STALE_ROUTE, type TopicConfig, type TopicView } from "./types";

export type { PartitionSetup };

const topicNotFound = () => new NotFound("topic_not_found", "topic not found");
/** Expired id claims one alarm run checks with their partitions. */
const CLAIMS_CHECKED = 100;
/** What every topic call answers over RPC: errors travel as data (errors.ts `Result`). */
export type Answer<T> = Promise<Result<T>>;

/**
 * What every partition object is before it serves the topic API (object.ts): its state in SQLite,
 * its one alarm and what the alarm runs, its setup and deletion, and the one guard of topic calls.
 */
export class Partition extends DurableObject<AppEnv> {
	protected readonly store: TopicStore;
	protected readonly admin: AdminStore;
	protected readonly steering: Steering;
	protected readonly pull: PullConsumers;
	protected readonly alarmClock: Alarm;
	protected readonly subs: Subscriptions;
	protected readonly flow: FlowControl;
	private readonly flowStore: FlowStore;
	protected readonly claims: IdClaims;
	protected readonly keys: KeyLimits;
	/** `/v2` callbacks of this partition's attempts, on their way to the system topic. */
	protected readonly callbacks: CallbackOutbox;
	/** The live tail: events go to the topic's hub while it has listeners (tail-feed.ts). */
	protected readonly tail: TailFeed;
	/** Wakes the running alarm's idle senders (null: no run): something may be due sooner. */
	protected wakeDispatcher: (() => void) | null = null;
	/** Attempts carried past the alarm run that started them, still waiting for an answer. */
	private carried = 0;
	/** Bumped when storage is wiped: a carried attempt of an earlier generation is not recorded. */
	private generation = 0;
	protected topic: TopicConfig | null = null;

	constructor(ctx: DurableObjectState, env: AppEnv) {
		super(ctx, env);
		this.store = new TopicStore(ctx.storage);
		this.admin = new AdminStore(ctx.storage.sql);
		this.alarmClock = new Alarm(ctx.storage);
		this.subs = new Subscriptions(this.store, this.admin, getConfig(env).maxSubscriptions, () =>
			this.flow.heldBack(Date.now()),
		);
		this.claims = new IdClaims(ctx.storage.sql);
		this.keys = new KeyLimits(ctx.storage.sql);
		this.callbacks = new CallbackOutbox(ctx.storage.sql, () => this.topic);
		this.tail = new TailFeed(
			ctx.storage.kv,
			(events) => {
				const topic = this.topic;
				if (!topic) return Promise.reject(new Error("no topic here"));
				return this.env.TAIL_HUB.getByName(topic.name).deliver(topic.partition, events);
			},
			(sid) => this.subs.bySid.get(sid)?.name,
		);
		this.flowStore = new FlowStore(ctx.storage.sql);
		this.flow = new FlowControl(
			this.flowStore,
			() => this.subs.bySid,
			() => this.topic,
			this.keys,
		);
		const wakeBy = (atMs: number) => this.alarmClock.wakeBy(atMs);
		this.steering = new Steering({
			store: this.store,
			admin: this.admin,
			subByName: (name) => this.subs.byName(name),
			subNames: () => this.subs.names(),
			wakeBy,
		});
		this.pull = new PullConsumers({
			store: this.store,
			sql: ctx.storage.sql,
			subByName: (name) => this.subs.byName(name),
			wakeBy,
			keys: this.keys,
			subs: () => this.subs.bySid,
			tail: this.tail,
			topicName: () => this.topic?.name ?? "",
		});
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage);
			this.load();
			// A new instance means the previous one is gone: its push attempts will never be recorded
			// (and their rate-window starts are dated now).
			this.flowStore.dateAllStarts(STARTED_IN_FLIGHT, Date.now());
			this.keys.settleAll(Date.now());
			if (this.store.expirePushLeases(Date.now()) > 0) await wakeBy(Date.now());
		});
	}

	private load(): void {
		this.topic = this.store.getTopic();
		this.subs.load();
	}

	/**
	 * The one guard of every topic call: the topic exists here and was routed with its partition
	 * count. `fn` returns a Result or throws an AppError; both reach the caller as a failed Result.
	 */
	protected async guarded<T>(route: Route, fn: (topic: TopicConfig) => Result<T> | Promise<Result<T>>) {
		const topic = this.topic;
		if (!topic) return fail<T>(topicNotFound());
		if (topic.partitions !== route.partitions) {
			return fail<T>(
				new Conflict(STALE_ROUTE, `the topic has ${topic.partitions} partitions, not ${route.partitions}`),
			);
		}
		try {
			return await fn(topic);
		} catch (error) {
			if (error instanceof AppError) return fail<T>(error);
			throw error;
		}
	}

	/** The earliest pending time (deliveries, maintenance, waiting receives), or null. */
	private pendingAtMs(moreWork = false): number | null {
		const nowMs = Date.now();
		const times = [
			nextWorkAtMs(this.store, this.flow),
			this.topic ? nextMaintenanceAtMs(this.admin, this.topic.retentionMs, nowMs) : null,
			this.pull.nextWakeAtMs(),
			this.claims.nextEndMs(),
			this.callbacks.nextAtMs(),
			moreWork ? nowMs : null,
		].filter((t): t is number => t !== null);
		return times.length === 0 ? null : Math.min(...times);
	}

	/** Sets the alarm to the earliest pending time. */
	protected async rearm(moreWork = false): Promise<void> {
		await this.alarmClock.setTo(this.pendingAtMs(moreWork));
	}

	override async alarm(): Promise<void> {
		this.alarmClock.fired();
		let moreWork = false;
		try {
			if (this.topic) {
				const topic = this.topic;
				const startedMs = Date.now();
				let carried = 0;
				const attempts = await dispatchDue({
					store: this.store,
					topicName: topic.name,
					subscriptions: () => this.subs.bySid,
					bindings: this.env as unknown as Record<string, unknown>,
					maxDeliveries: getConfig(this.env).maxDeliveriesPerAlarm,
					qstashKey: getConfig(this.env).qstashKeys?.current ?? null,
					afterRound: () => this.pull.wake(this.subs.bySid),
					wakeBy: (atMs) => this.alarmClock.wakeBy(atMs),
					flow: this.flow,
					callbacks: this.callbacks,
					onWake: (wake) => {
						this.wakeDispatcher = wake;
					},
					tail: this.tail,
					carry: (attempt) => {
						carried++;
						this.carry(attempt);
					},
					carriedInFlight: () => this.carried,
				});
				if (attempts > 0) {
					const durationMs = Date.now() - startedMs;
					logEvent({
						event: "alarm_run",
						topic: topic.name,
						partition: topic.partition,
						attempts,
						duration_ms: durationMs,
						carried,
					});
				}
				moreWork = await this.callbacks.forward(this.env, Date.now());
				moreWork = (await runMaintenance(this.store, this.admin, topic.retentionMs, Date.now)) || moreWork;
				this.keys.sweep(Date.now());
				moreWork = (await this.checkClaims(topic)) || moreWork;
			}
		} catch (error) {
			console.error("sundial: alarm run failed; re-arming", error);
		}
		await this.rearm(moreWork);
	}

	/**
	 * An attempt still waiting for its answer when its alarm run ended. When it ends its outcome is
	 * recorded at once (a transaction of its own, beside any run), a running dispatcher is woken (a
	 * slot is free) and the alarm made to fire for what the outcome made due. If the instance dies
	 * first, the lease ends and the delivery is retried, as after a crash; if storage was wiped
	 * meanwhile (the topic deleted), the outcome is dropped: its ids may name new deliveries.
	 */
	private carry(attempt: Promise<AttemptRecord[]>): void {
		this.carried++;
		const generation = this.generation;
		const recorded = attempt
			.finally(() => {
				this.carried--;
			})
			.then(async (records) => {
				if (generation !== this.generation) return;
				const deps = {
					store: this.store,
					flow: this.flow,
					callbacks: this.callbacks,
					tail: this.tail,
					topicName: this.topic?.name ?? "",
					subscriptions: () => this.subs.bySid,
				};
				recordOutcomes(deps, [...records]);
				this.tail.flush();
				// A running alarm sees what this made due (it is woken below) and re-arms when it ends.
				if (this.wakeDispatcher) return;
				const at = this.pendingAtMs();
				if (at !== null) await this.alarmClock.wakeBy(at);
			})
			.finally(() => this.wakeDispatcher?.());
		this.ctx.waitUntil(recorded.catch((error) => console.error("sundial: recording a carried attempt failed", error)));
	}

	/**
	 * Checks claims past their end with the partitions they name (id-claims.ts), a batch per run:
	 * true when more are due.
	 */
	private async checkClaims(topic: TopicConfig): Promise<boolean> {
		const nowMs = Date.now();
		const due = this.claims.expired(nowMs, CLAIMS_CHECKED);
		const byPartition = new Map<number, string[]>();
		for (const c of due) byPartition.set(c.partition, [...(byPartition.get(c.partition) ?? []), c.id]);
		for (const [p, ids] of byPartition) {
			const stub = this.env.TOPIC.getByName(`${topic.name}#${p}`);
			const stored = await stub.storedIds({ partitions: topic.partitions }, ids);
			if (!stored.ok) continue; // the other partition is changing: checked again on a later run
			const kept = new Set(stored.value);
			this.claims.settle(
				ids.filter((id) => !kept.has(id)),
				[...kept],
				nowMs + topic.retentionMs,
			);
		}
		return due.length === CLAIMS_CHECKED;
	}

	/** The partition count the Worker routes with, or null when there is no topic here. */
	async partitions(): Promise<number | null> {
		return this.topic?.partitions ?? null;
	}

	/** Creates this partition or updates its retention (setup.ts `planSetup` says which). */
	async configure(setup: PartitionSetup): Answer<{ created: boolean; topic: TopicView }> {
		const plan = planSetup(this.topic, setup, this.subs.bySid.size > 0 || this.store.messageCount() > 0);
		if (plan instanceof AppError) return fail(plan);
		if (plan.wipe) await this.wipe();
		const created = this.topic === null;
		this.store.putTopic(plan.topic);
		this.topic = plan.topic;
		if (!created) await this.rearm();
		return ok({ created, topic: topicView(this.store, plan.topic, this.subs.bySid) });
	}

	/** This partition's configuration and totals. */
	describe(route: Route): Answer<TopicView> {
		return this.guarded(route, (topic) => ok(topicView(this.store, topic, this.subs.bySid)));
	}

	/** Deletes this partition and everything in it, alarm included (SQLite storage is dropped whole). */
	async destroy(): Answer<{ deleted: boolean }> {
		const existed = this.topic !== null;
		if (existed) this.tail.sendNow({ type: "topic_deleted", atMs: Date.now() });
		await this.wipe();
		return ok({ deleted: existed });
	}

	private async wipe(): Promise<void> {
		this.generation++;
		this.flow.forget();
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
		migrate(this.ctx.storage);
		this.load();
		this.pull.reset();
		this.keys.reset();
		this.tail.reset();
		this.alarmClock.forget();
	}
}
