import { DurableObject } from "cloudflare:workers";
import { type AppEnv, getConfig } from "../config";
import { newSecret } from "../delivery/signing";
import { Conflict, fail, NotFound, ok, type Result } from "../errors";
import { dispatchDue } from "./dispatcher";
import { migrate } from "./schema";
import { type SubscriptionRow, TopicStore } from "./store";
import type {
	DeliveryState,
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
	private topic: TopicConfig | null = null;
	private subs = new Map<number, SubscriptionRow>();
	/** The alarm time as last set by this instance; undefined = not known yet. */
	private armedAtMs: number | null | undefined;

	constructor(ctx: DurableObjectState, env: AppEnv) {
		super(ctx, env);
		this.store = new TopicStore(ctx.storage);
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

	/** The one place the alarm is re-armed from the earliest pending time, or deleted when none. */
	private async rearm(): Promise<void> {
		const next = this.store.nextPendingAtMs();
		if (next === null) {
			await this.ctx.storage.deleteAlarm();
			this.armedAtMs = null;
			return;
		}
		const at = Math.max(next, Date.now() + 1);
		await this.ctx.storage.setAlarm(at);
		this.armedAtMs = at;
	}

	override async alarm(): Promise<void> {
		this.armedAtMs = null; // the alarm that woke us is spent
		try {
			if (this.topic) {
				await dispatchDue({
					store: this.store,
					topicName: this.topic.name,
					subscriptions: () => this.subs,
					maxDeliveries: getConfig(this.env).maxDeliveriesPerAlarm,
					armAt: async (atMs) => {
						await this.ctx.storage.setAlarm(Math.max(atMs, Date.now() + 1));
						this.armedAtMs = atMs;
					},
				});
			}
		} catch (error) {
			console.error("sundial: alarm run failed; re-arming", error);
		}
		await this.rearm();
	}

	private view(topic: TopicConfig): TopicView {
		const counts: Record<DeliveryState, number> = { scheduled: 0, in_flight: 0, delivered: 0, dead: 0, cancelled: 0 };
		for (const row of this.store.countsBySubscription()) counts[row.state] += row.n;
		return { ...topic, subscriptions: this.subs.size, messages: this.store.messageCount(), counts };
	}

	private subscriptionViews(subs: SubscriptionRow[], nowMs: number): SubscriptionView[] {
		const all = this.store.countsBySubscription();
		return subs.map((sub) => this.subscriptionView(sub, nowMs, all));
	}

	private subscriptionView(
		sub: SubscriptionRow,
		nowMs: number,
		all = this.store.countsBySubscription(),
	): SubscriptionView {
		const counts = { scheduled: 0, in_flight: 0, delivered: 0, dead: 0 };
		for (const row of all) {
			if (row.sid === sub.sid && row.state !== "cancelled") counts[row.state] += row.n;
		}
		const oldest = this.store.oldestDueAtMs(sub.sid, nowMs);
		return {
			name: sub.name,
			...sub.config,
			createdAtMs: sub.createdAtMs,
			updatedAtMs: sub.updatedAtMs,
			counts,
			oldestDueLagMs: oldest === null ? 0 : nowMs - oldest,
		};
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
		return ok({ created, topic: this.view(topic) });
	}

	/** The topic's configuration and totals. */
	async describe(): Promise<Result<TopicView>> {
		return this.topic ? ok(this.view(this.topic)) : fail(topicNotFound());
	}

	/** Deletes the topic and everything in it, alarm included. */
	async destroy(): Promise<Result<{ deleted: true }>> {
		if (!this.topic) return fail(topicNotFound());
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
		migrate(this.ctx.storage);
		this.load();
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
		} else {
			if (this.subs.size >= getConfig(this.env).maxSubscriptions) {
				return fail(new Conflict("too_many_subscriptions", "a topic has at most 100 subscriptions"));
			}
			secret = config.type === "webhook" ? newSecret() : null;
			this.store.insertSubscription(name, config, secret, nowMs);
		}
		this.load();
		const sub = this.subByName(name) as SubscriptionRow;
		if (existing && config.type === "webhook" && !sub.secret) {
			secret = newSecret();
			this.store.setSecret(sub.sid, secret);
			sub.secret = secret;
		}
		await this.rearm();
		return ok({ created: !existing, subscription: this.subscriptionView(sub, nowMs), secret });
	}

	async getSubscription(name: string): Promise<Result<SubscriptionView>> {
		if (!this.topic) return fail(topicNotFound());
		const sub = this.subByName(name);
		return sub ? ok(this.subscriptionView(sub, Date.now())) : fail(subscriptionNotFound(name));
	}

	async listSubscriptions(): Promise<Result<SubscriptionView[]>> {
		if (!this.topic) return fail(topicNotFound());
		const nowMs = Date.now();
		return ok(this.subscriptionViews([...this.subs.values()], nowMs));
	}

	/** Removes a subscription and all its deliveries. */
	async deleteSubscription(name: string): Promise<Result<{ deleted: true }>> {
		if (!this.topic) return fail(topicNotFound());
		const sub = this.subByName(name);
		if (!sub) return fail(subscriptionNotFound(name));
		this.store.transaction(() => this.store.deleteSubscription(sub.sid));
		this.load();
		await this.rearm();
		return ok({ deleted: true });
	}

	/** Stores validated messages (one transaction) and moves the alarm if one is due earlier. */
	async publish(messages: NewMessage[]): Promise<Result<PublishOutcome[]>> {
		if (!this.topic) return fail(topicNotFound());
		if (this.subs.size === 0) {
			return fail(new Conflict("no_subscriptions", "the topic has no subscriptions: a message would reach no one"));
		}
		const nowMs = Date.now();
		const outcomes = this.store.transaction(() => messages.map((m) => this.store.insertMessage(m, nowMs)));
		let earliestMs = Number.POSITIVE_INFINITY;
		for (const o of outcomes) if (!o.duplicate && o.deliverAtMs < earliestMs) earliestMs = o.deliverAtMs;
		if (earliestMs !== Number.POSITIVE_INFINITY) await this.armBy(earliestMs);
		return ok(outcomes);
	}

	/** One message with its per-subscription deliveries. */
	async getMessage(id: string): Promise<Result<MessageView>> {
		if (!this.topic) return fail(topicNotFound());
		const names = new Map([...this.subs.values()].map((s) => [s.sid, s.name]));
		const message = this.store.getMessage(id, names);
		return message ? ok(message) : fail(new NotFound("message_not_found", `message "${id}" not found`));
	}
}
