import { DurableObject } from "cloudflare:workers";
import { type AppEnv, getConfig } from "../config";
import { newSecret } from "../delivery/signing";
import { AppError, Conflict, fail, NotFound, ok, type Result } from "../errors";
import { Alarm } from "./alarm";
import { claimAtMs, dispatchDue, nextWorkAtMs } from "./dispatcher";
import { MAINTENANCE_BATCH, nextMaintenanceAtMs, runMaintenance } from "./maintenance";
import { PullConsumers, type PulledMessage } from "./pull";
import { migrate } from "./schema";
import { subscriptionViews, topicView } from "./stats";
import { Steering } from "./steering";
import { type SubscriptionRow, TopicStore } from "./store";
import { AdminStore } from "./store-admin";
import {
	type DeadView,
	type MessageQuery,
	type MessageSummary,
	type MessageView,
	type NewMessage,
	type PublishOutcome,
	type Route,
	STALE_ROUTE,
	type SubscriptionConfig,
	type SubscriptionView,
	type TopicConfig,
	type TopicView,
} from "./types";

/** What creating or replacing a subscription returns: `secret` is the one it signs with now. */
export interface PutSubscriptionResult {
	created: boolean;
	subscription: SubscriptionView;
	secret: string | null;
}

/** What configuring a partition takes (the Worker's topic client decides every field). */
export interface PartitionSetup {
	name: string;
	partition: number;
	partitions: number;
	retentionMs: number;
	nowMs: number;
}

const topicNotFound = () => new NotFound("topic_not_found", "topic not found");
const subscriptionNotFound = (name: string) =>
	new NotFound("subscription_not_found", `subscription "${name}" not found`);

/**
 * One partition of a topic: its messages, deliveries and subscriptions in SQLite, and the single
 * alarm that fires at the earliest pending time. Called only through RPC methods, by the topic
 * client (src/topic/client), each call carrying the partition count it was routed with.
 */
export class TopicObject extends DurableObject<AppEnv> {
	private readonly store: TopicStore;
	private readonly admin: AdminStore;
	private readonly steering: Steering;
	private readonly pull: PullConsumers;
	private readonly alarmClock: Alarm;
	private topic: TopicConfig | null = null;
	private subs = new Map<number, SubscriptionRow>();

	constructor(ctx: DurableObjectState, env: AppEnv) {
		super(ctx, env);
		this.store = new TopicStore(ctx.storage);
		this.admin = new AdminStore(ctx.storage.sql);
		this.alarmClock = new Alarm(ctx.storage);
		const wakeBy = (atMs: number) => this.alarmClock.wakeBy(atMs);
		this.steering = new Steering({
			store: this.store,
			admin: this.admin,
			subByName: (name) => this.subByName(name),
			subNames: () => new Map([...this.subs.values()].map((s) => [s.sid, s.name])),
			wakeBy,
		});
		this.pull = new PullConsumers({
			store: this.store,
			sql: ctx.storage.sql,
			subByName: (name) => this.subByName(name),
			wakeBy,
		});
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage);
			this.load();
			// A new instance means the previous one is gone: its push attempts will never be recorded.
			if (this.store.expirePushLeases(Date.now()) > 0) await wakeBy(Date.now());
		});
	}

	private load(): void {
		this.topic = this.store.getTopic();
		this.subs = new Map(this.store.listSubscriptions().map((s) => [s.sid, s]));
	}

	private subByName(name: string): SubscriptionRow | undefined {
		for (const sub of this.subs.values()) if (sub.name === name) return sub;
		return undefined;
	}

	/**
	 * The one guard of every topic call: the topic exists here and was routed with its partition
	 * count. `fn` returns a Result or throws an AppError; both reach the caller as a failed Result.
	 */
	private async guarded<T>(route: Route, fn: (topic: TopicConfig) => Result<T> | Promise<Result<T>>) {
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

	/** Sets the alarm from the earliest pending time (deliveries, maintenance, waiting receives). */
	private async rearm(moreWork = false): Promise<void> {
		const nowMs = Date.now();
		const times = [
			nextWorkAtMs(this.store),
			this.topic ? nextMaintenanceAtMs(this.admin, this.topic.retentionMs, nowMs) : null,
			this.pull.nextWakeAtMs(),
			moreWork ? nowMs : null,
		].filter((t): t is number => t !== null);
		await this.alarmClock.setTo(times.length === 0 ? null : Math.min(...times));
	}

	override async alarm(): Promise<void> {
		this.alarmClock.fired();
		let moreWork = false;
		try {
			if (this.topic) {
				const topic = this.topic;
				await dispatchDue({
					store: this.store,
					topicName: topic.name,
					subscriptions: () => this.subs,
					bindings: this.env as unknown as Record<string, unknown>,
					maxDeliveries: getConfig(this.env).maxDeliveriesPerAlarm,
					afterRound: () => this.pull.wake(this.subs),
					wakeBy: (atMs) => this.alarmClock.wakeBy(atMs),
				});
				moreWork = await runMaintenance(this.store, this.admin, topic.retentionMs, Date.now);
			}
		} catch (error) {
			console.error("sundial: alarm run failed; re-arming", error);
		}
		await this.rearm(moreWork);
	}

	/** The partition count the Worker routes with, or null when there is no topic here. */
	async partitions(): Promise<number | null> {
		return this.topic?.partitions ?? null;
	}

	/**
	 * Creates this partition or updates its retention. Partition 0 holds the topic's identity: a
	 * different count there is a 409. Another partition with a different count and nothing in it is
	 * left over from a creation that failed part-way (partition 0 never had it): it is set up anew.
	 */
	async configure(setup: PartitionSetup): Promise<Result<{ created: boolean; topic: TopicView }>> {
		if (this.topic && this.topic.partitions !== setup.partitions) {
			const inUse = this.subs.size > 0 || this.store.messageCount() > 0;
			if (setup.partition === 0 || inUse) {
				const message = `partitions is fixed for the topic's life (it has ${this.topic.partitions}); delete the topic to change it`;
				return fail(
					new AppError(409, "partitions_fixed", message, [{ path: "partitions", message: "cannot be changed" }]),
				);
			}
			await this.wipe();
		}
		const created = this.topic === null;
		const topic: TopicConfig = this.topic
			? { ...this.topic, retentionMs: setup.retentionMs, updatedAtMs: setup.nowMs }
			: {
					name: setup.name,
					retentionMs: setup.retentionMs,
					partitions: setup.partitions,
					partition: setup.partition,
					createdAtMs: setup.nowMs,
					updatedAtMs: setup.nowMs,
				};
		this.store.putTopic(topic);
		this.topic = topic;
		if (!created) await this.rearm();
		return ok({ created, topic: topicView(this.store, topic, this.subs) });
	}

	/** This partition's configuration and totals. */
	describe(route: Route): Promise<Result<TopicView>> {
		return this.guarded(route, (topic) => ok(topicView(this.store, topic, this.subs)));
	}

	/** Deletes this partition and everything in it, alarm included (SQLite storage is dropped whole). */
	async destroy(): Promise<Result<{ deleted: boolean }>> {
		const existed = this.topic !== null;
		await this.wipe();
		return ok({ deleted: existed });
	}

	private async wipe(): Promise<void> {
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
		migrate(this.ctx.storage);
		this.load();
		this.pull.reset();
		this.alarmClock.forget();
	}

	/** The secret a subscription signs with here (null: no such subscription, or not a webhook). */
	secretOf(route: Route, name: string): Promise<Result<string | null>> {
		return this.guarded(route, () => ok(this.subByName(name)?.secret ?? null));
	}

	/**
	 * Creates or replaces a subscription. A webhook subscription signs with `secret` (the same in
	 * every partition: the topic client chooses it). With `expectSecret` given, the call changes
	 * nothing unless the stored secret is that one (409 `secret_changed`): two PUTs racing to
	 * create the same subscription cannot leave partitions with different secrets.
	 */
	putSubscription(
		route: Route,
		name: string,
		config: SubscriptionConfig,
		secret: string | null,
		expectSecret?: string | null,
	): Promise<Result<PutSubscriptionResult>> {
		return this.guarded(route, async () => {
			const nowMs = Date.now();
			const existing = this.subByName(name);
			if (expectSecret !== undefined && (existing?.secret ?? null) !== expectSecret) {
				return fail(new Conflict("secret_changed", `subscription "${name}" was changed meanwhile`));
			}
			const signWith =
				config.type === "webhook" ? (secret ?? existing?.secret ?? newSecret()) : (existing?.secret ?? null);
			if (existing) {
				this.store.updateSubscription(existing.sid, config, nowMs);
				if (signWith !== existing.secret && signWith !== null) this.store.setSecret(existing.sid, signWith);
			} else {
				if (this.subs.size >= getConfig(this.env).maxSubscriptions) {
					return fail(new Conflict("too_many_subscriptions", "a topic has at most 100 subscriptions"));
				}
				this.store.insertSubscription(name, config, signWith, nowMs);
			}
			this.load();
			const sub = this.subByName(name) as SubscriptionRow;
			await this.pull.wake(this.subs);
			await this.rearm();
			const [view] = subscriptionViews(this.store, [sub]);
			return ok({ created: !existing, subscription: view as SubscriptionView, secret: sub.secret });
		});
	}

	getSubscription(route: Route, name: string): Promise<Result<SubscriptionView>> {
		return this.guarded(route, () => {
			const sub = this.subByName(name);
			return sub ? ok(subscriptionViews(this.store, [sub])[0] as SubscriptionView) : fail(subscriptionNotFound(name));
		});
	}

	listSubscriptions(route: Route): Promise<Result<SubscriptionView[]>> {
		return this.guarded(route, () => ok(subscriptionViews(this.store, [...this.subs.values()])));
	}

	/** Removes a subscription at once; its deliveries are deleted now, or in batches by the alarm. */
	deleteSubscription(route: Route, name: string): Promise<Result<{ deleted: true }>> {
		return this.guarded(route, async () => {
			const sub = this.subByName(name);
			if (!sub) return fail(subscriptionNotFound(name));
			const more = this.store.transaction(() => {
				this.store.deleteSubscription(sub.sid);
				const dropped = this.store.dropDeliveries(sub.sid, MAINTENANCE_BATCH);
				if (dropped === MAINTENANCE_BATCH) this.admin.addJob("drop_subscription", sub.sid, Date.now());
				return dropped === MAINTENANCE_BATCH;
			});
			this.load();
			await this.pull.wake(this.subs);
			await this.rearm(more);
			return ok({ deleted: true as const });
		});
	}

	/** Stores validated messages (one transaction) and moves the alarm if one is due earlier. */
	publish(route: Route, messages: NewMessage[]): Promise<Result<PublishOutcome[]>> {
		return this.guarded(route, async () => {
			if (this.subs.size === 0) {
				return fail(new Conflict("no_subscriptions", "the topic has no subscriptions: a message would reach no one"));
			}
			const outcomes = this.store.transaction(() => this.store.insertMessages(messages, Date.now()));
			let earliestMs = Number.POSITIVE_INFINITY;
			for (const o of outcomes) if (!o.duplicate && o.deliverAtMs < earliestMs) earliestMs = o.deliverAtMs;
			if (earliestMs !== Number.POSITIVE_INFINITY) await this.alarmClock.wakeBy(claimAtMs(earliestMs));
			if (this.pull.waiting && earliestMs <= Date.now()) await this.pull.wake(this.subs);
			return ok(outcomes);
		});
	}

	/** One message with its per-subscription deliveries. */
	getMessage(route: Route, id: string): Promise<Result<MessageView>> {
		return this.guarded(route, () => {
			const names = new Map([...this.subs.values()].map((s) => [s.sid, s.name]));
			const message = this.admin.getMessage(id, names);
			return message ? ok(message) : fail(new NotFound("message_not_found", `message "${id}" not found`));
		});
	}

	listMessages(
		route: Route,
		query: MessageQuery,
	): Promise<Result<{ messages: MessageSummary[]; next: [number, number] | null }>> {
		return this.guarded(route, () => this.steering.list(query));
	}

	cancelMessage(route: Route, id: string): Promise<Result<{ id: string; cancelled: number }>> {
		return this.guarded(route, async () => {
			const result = this.steering.cancel(id);
			if (result.ok && result.value.cancelled > 0) await this.rearm();
			return result;
		});
	}

	deliverMessage(route: Route, id: string): Promise<Result<{ id: string; scheduled: number }>> {
		return this.guarded(route, () => this.steering.deliverNow(id));
	}

	rescheduleMessage(
		route: Route,
		id: string,
		atMs: number,
	): Promise<Result<{ id: string; deliverAtMs: number; scheduled: number }>> {
		return this.guarded(route, () => this.steering.reschedule(id, atMs));
	}

	listDead(
		route: Route,
		name: string,
		afterMid: number,
		limit: number,
	): Promise<Result<{ dead: DeadView[]; next: number | null }>> {
		return this.guarded(route, () => this.steering.listDead(name, afterMid, limit));
	}

	/** Which of these ids are not dead for the subscription here (checked before a multi-partition redrive). */
	notDead(route: Route, name: string, ids: string[]): Promise<Result<string[]>> {
		return this.guarded(route, () => this.steering.notDead(name, ids));
	}

	redrive(route: Route, name: string, ids: string[] | null): Promise<Result<{ redriven: number; pending: number }>> {
		return this.guarded(route, () => this.steering.redrive(name, ids));
	}

	purgeDead(route: Route, name: string): Promise<Result<{ purged: number; pending: number }>> {
		return this.guarded(route, async () => {
			const result = this.steering.purge(name);
			// Purging finishes messages (their retention sweep needs the alarm): re-arm from the one
			// place that knows all pending times.
			if (result.ok && result.value.purged > 0) await this.rearm();
			return result;
		});
	}

	/** Leases due messages to a pull consumer, waiting up to `waitMs` for some (long poll). */
	receive(
		route: Route,
		name: string,
		max: number,
		waitMs: number,
		visibilityMs: number | null,
		waitId: string | null = null,
	): Promise<Result<{ messages: PulledMessage[] }>> {
		return this.guarded(route, () => this.pull.receive(name, max, waitMs, visibilityMs, waitId));
	}

	/** Ends a waiting receive whose client disconnected (or that another partition answered). */
	async abandonReceive(waitId: string): Promise<boolean> {
		return this.pull.abandon(waitId);
	}

	ack(route: Route, name: string, receipts: string[]): Promise<Result<Record<string, boolean>>> {
		return this.guarded(route, () => this.pull.ack(name, receipts));
	}

	/** Gives leases back uncounted (a receive over several partitions leased more than it returns). */
	release(route: Route, name: string, receipts: string[]): Promise<Result<Record<string, boolean>>> {
		return this.guarded(route, async () => {
			const result = await this.pull.release(name, receipts);
			await this.pull.wake(this.subs);
			return result;
		});
	}

	nack(
		route: Route,
		name: string,
		receipts: string[],
		delayMs: number | null,
	): Promise<Result<Record<string, boolean>>> {
		return this.guarded(route, async () => {
			const result = await this.pull.nack(name, receipts, delayMs);
			await this.pull.wake(this.subs);
			return result;
		});
	}

	extend(
		route: Route,
		name: string,
		receipt: string,
		visibilityMs: number,
	): Promise<Result<{ extended: boolean; untilMs: number | null }>> {
		return this.guarded(route, () => this.pull.extend(name, receipt, visibilityMs));
	}
}
