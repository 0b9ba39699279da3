import { DurableObject } from "cloudflare:workers";
import { type AppEnv, getConfig } from "../config";
import { newSecret } from "../delivery/signing";
import { Conflict, fail, NotFound, ok, type Result } from "../errors";
import { CLAIM_AHEAD_MS, dispatchDue, nextWorkAtMs } from "./dispatcher";
import { MAINTENANCE_BATCH, nextMaintenanceAtMs, runMaintenance } from "./maintenance";
import { PullConsumers, type PulledMessage } from "./pull";
import { migrate } from "./schema";
import { Steering } from "./steering";
import { type SubscriptionRow, TopicStore } from "./store";
import { AdminStore } from "./store-admin";
import type {
	DeadView,
	DeliveryState,
	MessageQuery,
	MessageSummary,
	MessageView,
	NewMessage,
	PublishOutcome,
	SubscriptionConfig,
	SubscriptionView,
	TopicConfig,
	TopicView,
} from "./types";

/** What creating or replacing a subscription returns; `secret` only when it was just made. */
export interface PutSubscriptionResult {
	created: boolean;
	subscription: SubscriptionView;
	secret: string | null;
}

const topicNotFound = () => new NotFound("topic_not_found", "topic not found");
const subscriptionNotFound = (name: string) =>
	new NotFound("subscription_not_found", `subscription "${name}" not found`);

/**
 * One partition of a topic: its messages, deliveries and subscriptions in SQLite, and the single
 * alarm that fires at the earliest pending time. Called only through RPC methods.
 */
export class TopicObject extends DurableObject<AppEnv> {
	private readonly store: TopicStore;
	private readonly admin: AdminStore;
	private readonly steering: Steering;
	private readonly pull: PullConsumers;
	private topic: TopicConfig | null = null;
	private subs = new Map<number, SubscriptionRow>();
	/** The alarm time as last set by this instance; undefined = not known yet. */
	private armedAtMs: number | null | undefined;

	constructor(ctx: DurableObjectState, env: AppEnv) {
		super(ctx, env);
		this.store = new TopicStore(ctx.storage);
		this.admin = new AdminStore(ctx.storage.sql);
		this.steering = new Steering({
			store: this.store,
			admin: this.admin,
			subByName: (name) => this.subByName(name),
			subNames: () => new Map([...this.subs.values()].map((s) => [s.sid, s.name])),
			armBy: (atMs) => this.armForDue(atMs),
		});
		this.pull = new PullConsumers({
			store: this.store,
			sql: ctx.storage.sql,
			subByName: (name) => this.subByName(name),
			armBy: (atMs) => this.armBy(atMs),
		});
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage);
			this.load();
			// A new instance means the previous one is gone: its push attempts will never be recorded.
			if (this.store.expirePushLeases(Date.now()) > 0) await this.armBy(Date.now());
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

	/** Makes sure the alarm fires no later than `atMs` (never before now + 1 ms: PLATFORM.md §3). */
	private async armBy(atMs: number): Promise<void> {
		if (this.armedAtMs === undefined) this.armedAtMs = await this.ctx.storage.getAlarm();
		if (this.armedAtMs !== null && this.armedAtMs <= atMs) return;
		const at = Math.max(atMs, Date.now() + 1);
		await this.ctx.storage.setAlarm(at);
		this.armedAtMs = at;
	}

	/** Makes sure the alarm fires in time to claim deliveries due at `dueMs` (CLAIM_AHEAD_MS early). */
	private armForDue(dueMs: number): Promise<void> {
		return this.armBy(dueMs - CLAIM_AHEAD_MS);
	}

	/** The one place the alarm is re-armed from the earliest pending time, or deleted when none. */
	private async rearm(moreWork = false): Promise<void> {
		const nowMs = Date.now();
		const times = [
			nextWorkAtMs(this.store),
			this.topic ? nextMaintenanceAtMs(this.admin, this.topic.retentionMs, nowMs) : null,
			this.pull.nextWakeAtMs(),
			moreWork ? nowMs : null,
		].filter((t): t is number => t !== null);
		if (times.length === 0) {
			await this.ctx.storage.deleteAlarm();
			this.armedAtMs = null;
			return;
		}
		const at = Math.max(Math.min(...times), nowMs + 1);
		await this.ctx.storage.setAlarm(at);
		this.armedAtMs = at;
	}

	override async alarm(): Promise<void> {
		this.armedAtMs = null; // the alarm that woke us is spent
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
					// An alarm armed earlier covers a later need (it finds whatever is due then): only the
					// first claim of a busy run writes the alarm.
					armAt: (atMs) => this.armBy(atMs),
				});
				moreWork = await runMaintenance(this.store, this.admin, topic.retentionMs, Date.now);
			}
		} catch (error) {
			console.error("sundial: alarm run failed; re-arming", error);
		}
		await this.rearm(moreWork);
	}

	private counts(): Map<number, Record<DeliveryState, number>> {
		const bySid = new Map<number, Record<DeliveryState, number>>();
		for (const row of this.store.countsBySubscription()) {
			const counts = bySid.get(row.sid) ?? { scheduled: 0, in_flight: 0, delivered: 0, dead: 0, cancelled: 0 };
			counts[row.state] = row.n;
			bySid.set(row.sid, counts);
		}
		return bySid;
	}

	private view(topic: TopicConfig): TopicView {
		const counts: Record<DeliveryState, number> = { scheduled: 0, in_flight: 0, delivered: 0, dead: 0, cancelled: 0 };
		for (const [sid, c] of this.counts()) {
			if (!this.subs.has(sid)) continue;
			for (const state of Object.keys(counts) as DeliveryState[]) counts[state] += c[state];
		}
		return { ...topic, subscriptions: this.subs.size, messages: this.store.messageCount(), counts };
	}

	private subscriptionViews(subs: SubscriptionRow[]): SubscriptionView[] {
		const nowMs = Date.now();
		const all = this.counts();
		return subs.map((sub) => {
			const c = all.get(sub.sid);
			const oldest = this.store.oldestDueAtMs(sub.sid, nowMs);
			return {
				name: sub.name,
				...sub.config,
				createdAtMs: sub.createdAtMs,
				updatedAtMs: sub.updatedAtMs,
				counts: {
					scheduled: c?.scheduled ?? 0,
					in_flight: c?.in_flight ?? 0,
					delivered: c?.delivered ?? 0,
					dead: c?.dead ?? 0,
				},
				oldestDueLagMs: oldest === null ? 0 : nowMs - oldest,
			};
		});
	}

	/** Creates the topic or updates its retention. */
	async configure(input: {
		name: string;
		retentionMs: number;
	}): Promise<Result<{ created: boolean; topic: TopicView }>> {
		const nowMs = Date.now();
		const created = this.topic === null;
		const topic: TopicConfig = this.topic
			? { ...this.topic, retentionMs: input.retentionMs, updatedAtMs: nowMs }
			: { name: input.name, retentionMs: input.retentionMs, partitions: 1, createdAtMs: nowMs, updatedAtMs: nowMs };
		this.store.putTopic(topic);
		this.topic = topic;
		if (!created) await this.rearm();
		return ok({ created, topic: this.view(topic) });
	}

	/** The topic's configuration and totals. */
	async describe(): Promise<Result<TopicView>> {
		return this.topic ? ok(this.view(this.topic)) : fail(topicNotFound());
	}

	/** Deletes the topic and everything in it, alarm included (SQLite storage is dropped whole). */
	async destroy(): Promise<Result<{ deleted: true }>> {
		if (!this.topic) return fail(topicNotFound());
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
		migrate(this.ctx.storage);
		this.load();
		this.pull.reset();
		this.armedAtMs = null;
		return ok({ deleted: true });
	}

	/** Creates or replaces a subscription; a new webhook subscription gets its secret here, once. */
	async putSubscription(name: string, config: SubscriptionConfig): Promise<Result<PutSubscriptionResult>> {
		if (!this.topic) return fail(topicNotFound());
		const nowMs = Date.now();
		const existing = this.subByName(name);
		let secret: string | null = null;
		if (existing) {
			this.store.updateSubscription(existing.sid, config, nowMs);
			if (config.type === "webhook" && !existing.secret) {
				secret = newSecret();
				this.store.setSecret(existing.sid, secret);
			}
		} else {
			if (this.subs.size >= getConfig(this.env).maxSubscriptions) {
				return fail(new Conflict("too_many_subscriptions", "a topic has at most 100 subscriptions"));
			}
			secret = config.type === "webhook" ? newSecret() : null;
			this.store.insertSubscription(name, config, secret, nowMs);
		}
		this.load();
		const sub = this.subByName(name) as SubscriptionRow;
		await this.pull.wake(this.subs);
		await this.rearm();
		return ok({ created: !existing, subscription: this.subscriptionViews([sub])[0] as SubscriptionView, secret });
	}

	async getSubscription(name: string): Promise<Result<SubscriptionView>> {
		if (!this.topic) return fail(topicNotFound());
		const sub = this.subByName(name);
		return sub ? ok(this.subscriptionViews([sub])[0] as SubscriptionView) : fail(subscriptionNotFound(name));
	}

	async listSubscriptions(): Promise<Result<SubscriptionView[]>> {
		if (!this.topic) return fail(topicNotFound());
		return ok(this.subscriptionViews([...this.subs.values()]));
	}

	/** Removes a subscription at once; its deliveries are deleted now, or in batches by the alarm. */
	async deleteSubscription(name: string): Promise<Result<{ deleted: true }>> {
		if (!this.topic) return fail(topicNotFound());
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
		return ok({ deleted: true });
	}

	/** Stores validated messages (one transaction) and moves the alarm if one is due earlier. */
	async publish(messages: NewMessage[]): Promise<Result<PublishOutcome[]>> {
		if (!this.topic) return fail(topicNotFound());
		if (this.subs.size === 0) {
			return fail(new Conflict("no_subscriptions", "the topic has no subscriptions: a message would reach no one"));
		}
		const nowMs = Date.now();
		const outcomes = this.store.transaction(() => this.store.insertMessages(messages, nowMs));
		let earliestMs = Number.POSITIVE_INFINITY;
		for (const o of outcomes) if (!o.duplicate && o.deliverAtMs < earliestMs) earliestMs = o.deliverAtMs;
		if (earliestMs !== Number.POSITIVE_INFINITY) await this.armForDue(earliestMs);
		if (this.pull.waiting && earliestMs <= Date.now()) await this.pull.wake(this.subs);
		return ok(outcomes);
	}

	/** One message with its per-subscription deliveries. */
	async getMessage(id: string): Promise<Result<MessageView>> {
		if (!this.topic) return fail(topicNotFound());
		const names = new Map([...this.subs.values()].map((s) => [s.sid, s.name]));
		const message = this.admin.getMessage(id, names);
		return message ? ok(message) : fail(new NotFound("message_not_found", `message "${id}" not found`));
	}

	async listMessages(
		query: MessageQuery,
	): Promise<Result<{ messages: MessageSummary[]; next: [number, number] | null }>> {
		return this.topic ? this.steering.list(query) : fail(topicNotFound());
	}

	async cancelMessage(id: string): Promise<Result<{ id: string; cancelled: number }>> {
		if (!this.topic) return fail(topicNotFound());
		const result = this.steering.cancel(id);
		if (result.ok && result.value.cancelled > 0) await this.rearm();
		return result;
	}

	async deliverMessage(id: string): Promise<Result<{ id: string; scheduled: number }>> {
		return this.topic ? this.steering.deliverNow(id) : fail(topicNotFound());
	}

	async rescheduleMessage(
		id: string,
		atMs: number,
	): Promise<Result<{ id: string; deliverAtMs: number; scheduled: number }>> {
		return this.topic ? this.steering.reschedule(id, atMs) : fail(topicNotFound());
	}

	async listDead(
		name: string,
		afterMid: number,
		limit: number,
	): Promise<Result<{ dead: DeadView[]; next: number | null }>> {
		return this.topic ? this.steering.listDead(name, afterMid, limit) : fail(topicNotFound());
	}

	async redrive(name: string, ids: string[] | null): Promise<Result<{ redriven: number; pending: number }>> {
		return this.topic ? this.steering.redrive(name, ids) : fail(topicNotFound());
	}

	async purgeDead(name: string): Promise<Result<{ purged: number; pending: number }>> {
		if (!this.topic) return fail(topicNotFound());
		const result = this.steering.purge(name);
		// Cancelling or purging finishes messages (their retention sweep needs the alarm) and may
		// remove the earliest pending delivery: re-arm from the one place that knows all of it.
		if (result.ok && result.value.purged > 0) await this.rearm();
		return result;
	}

	/** Leases due messages to a pull consumer, waiting up to `waitMs` for some (long poll). */
	async receive(
		name: string,
		max: number,
		waitMs: number,
		visibilityMs: number | null,
		waitId: string | null = null,
	): Promise<Result<{ messages: PulledMessage[] }>> {
		return this.topic ? this.pull.receive(name, max, waitMs, visibilityMs, waitId) : fail(topicNotFound());
	}

	/** Cleans up a waiting receive whose client disconnected. */
	async abandonReceive(waitId: string): Promise<boolean> {
		return this.pull.abandon(waitId);
	}

	async ack(name: string, receipts: string[]): Promise<Result<Record<string, boolean>>> {
		return this.topic ? this.pull.ack(name, receipts) : fail(topicNotFound());
	}

	async nack(name: string, receipts: string[], delayMs: number | null): Promise<Result<Record<string, boolean>>> {
		if (!this.topic) return fail(topicNotFound());
		const result = await this.pull.nack(name, receipts, delayMs);
		await this.pull.wake(this.subs);
		return result;
	}

	async extend(
		name: string,
		receipt: string,
		visibilityMs: number,
	): Promise<Result<{ extended: boolean; untilMs: number | null }>> {
		return this.topic ? this.pull.extend(name, receipt, visibilityMs) : fail(topicNotFound());
	}
}
