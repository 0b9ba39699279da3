import { Conflict, fail, NotFound, ok, type Result } from "../errors";
import { type BlockedKey, blockedKeys } from "./blocked-keys";
import { claimAtMs } from "./dispatcher";
import type { IdClaim } from "./id-claims";
import type { KeyChange } from "./key-limits";
import type { SubscriptionMetrics } from "./metrics";
import { type Answer, Partition } from "./partition";
import type { PulledMessage } from "./pull";
import { type QstashFilter, type QstashPage, scanDead, scanEvents, scanPending } from "./qstash-scan";
import { subscriptionMetrics } from "./stats";
import type { PutSubscriptionResult } from "./subscriptions";
import type { TailLease } from "./tail-events";
import type {
	DeadView,
	KeyLimitsView,
	MessageQuery,
	MessageSummary,
	MessageView,
	NewMessage,
	PublishOutcome,
	Route,
	SubscriptionConfig,
	SubscriptionView,
} from "./types";
import { WriteLock } from "./write-lock";

export type { PartitionSetup } from "./partition";
export type { PutSubscriptionResult };

/**
 * One partition of a topic, as the topic client (src/topic/client) calls it: subscriptions,
 * publishing, steering, dead letters and pull consumers, each call carrying the partition count it
 * was routed with. State, alarm and setup are the Partition's (partition.ts).
 */
export class TopicObject extends Partition {
	private readonly writeLock = new WriteLock();
	/** Takes the lock of topic-wide subscription writes (partition 0 holds it); false while another has it. */
	lockSubscriptions(route: Route, token: string, ttlMs: number): Answer<boolean> {
		return this.guarded(route, () => ok(this.writeLock.take(token, ttlMs)));
	}

	async unlockSubscriptions(token: string): Promise<void> {
		this.writeLock.release(token);
	}

	/** The secret a subscription signs with here (null: no such subscription, or not a webhook). */
	secretOf(route: Route, name: string): Answer<string | null> {
		return this.guarded(route, () => ok(this.subs.byName(name)?.secret ?? null));
	}

	/** Creates or replaces a subscription (see Subscriptions.put for `secret` and `expectSecret`). */
	putSubscription(
		route: Route,
		name: string,
		config: SubscriptionConfig,
		secret: string | null,
		expectSecret?: string | null,
	): Answer<PutSubscriptionResult> {
		return this.guarded(route, () => this.afterSubscriptions(this.subs.put(name, config, secret, expectSecret)));
	}

	getSubscription(route: Route, name: string): Answer<SubscriptionView> {
		return this.guarded(route, () => {
			const views = this.subs.views(name);
			return views.ok ? ok(views.value[0] as SubscriptionView) : views;
		});
	}

	listSubscriptions(route: Route): Answer<SubscriptionView[]> {
		return this.guarded(route, () => this.subs.views());
	}

	/** Removes a subscription at once; its deliveries are deleted now, or in batches by the alarm. */
	deleteSubscription(route: Route, name: string): Answer<{ deleted: true }> {
		return this.guarded(route, async () => {
			const removed = await this.afterSubscriptions(this.subs.remove(name));
			return removed.ok ? ok({ deleted: true as const }) : removed;
		});
	}

	/** After a subscription change: waiting receives and the alarm follow the new set. */
	private async afterSubscriptions<T>(result: Result<T>): Answer<T> {
		if (!result.ok) return result;
		await this.pull.wake(this.subs.bySid);
		const more = (result.value as { more?: boolean }).more === true;
		await this.rearm(more);
		return result;
	}

	/** Stores validated messages (one transaction) and moves the alarm if one is due earlier. */
	publish(route: Route, messages: NewMessage[]): Answer<PublishOutcome[]> {
		return this.guarded(route, async () => {
			if (this.subs.bySid.size === 0) {
				return fail(new Conflict("no_subscriptions", "the topic has no subscriptions: a message would reach no one"));
			}
			// An id claimed here for a keyed message stored elsewhere is taken (the client answers 409).
			const claimed = this.claims.claimedAmong(messages.map((m) => m.id));
			const fresh = claimed.size === 0 ? messages : messages.filter((m) => !claimed.has(m.id));
			const stored = this.store.transaction(() => {
				const nowMs = Date.now();
				const outcomes = this.store.insertMessages(fresh, nowMs);
				// A message's flow-control value or queue (a `/v2` publish) sets its key's limits; a duplicate's does not.
				this.keys.applyFromMessages(
					fresh.filter((m, i) => m.keyLimits && !outcomes[i]?.duplicate),
					nowMs,
				);
				return outcomes;
			});
			let k = 0;
			const outcomes =
				claimed.size === 0
					? stored
					: messages.map((m) =>
							claimed.has(m.id)
								? { id: m.id, deliverAtMs: m.deliverAtMs, duplicate: false, conflict: true as const }
								: (stored[k++] as PublishOutcome),
						);
			let earliestMs = Number.POSITIVE_INFINITY;
			for (const o of outcomes) if (!o.duplicate && o.deliverAtMs < earliestMs) earliestMs = o.deliverAtMs;
			if (earliestMs !== Number.POSITIVE_INFINITY) {
				await this.alarmClock.wakeBy(claimAtMs(earliestMs));
				this.wakeDispatcher?.();
			}
			if (this.pull.waiting && earliestMs <= Date.now()) await this.pull.wake(this.subs.bySid);
			if (this.tail.listening()) this.tailPublished(messages, outcomes);
			return ok(outcomes);
		});
	}

	private tailPublished(messages: NewMessage[], outcomes: PublishOutcome[]): void {
		const atMs = Date.now();
		outcomes.forEach((o, i) => {
			if (o.duplicate || o.conflict) return;
			this.tail.emit({
				type: "published",
				atMs,
				messageId: o.id,
				deliverAtMs: o.deliverAtMs,
				key: messages[i]?.key ?? null,
			});
		});
		this.tail.flush();
	}

	/** The hub's decision: until when this partition has tail listeners (tail-feed.ts); answers the lease it holds. */
	tailListen(route: Route, lease: TailLease): Answer<TailLease> {
		return this.guarded(route, () => {
			this.tail.listen(lease);
			return ok(this.tail.currentLease());
		});
	}

	/** Claims ids of keyed messages stored in other partitions (id-claims.ts); false where the id is taken. */
	claimIds(route: Route, claims: IdClaim[]): Answer<boolean[]> {
		return this.guarded(route, (topic) => ok(this.claims.claim(claims, topic.retentionMs)));
	}

	/** Which of these ids have a message stored here (a claim elsewhere is checked against it). */
	storedIds(route: Route, ids: string[]): Answer<string[]> {
		return this.guarded(route, () => ok(this.claims.storedAmong(ids)));
	}

	/** The partitions claimed here for these ids. */
	claimsOf(route: Route, ids: string[]): Answer<Record<string, number>> {
		return this.guarded(route, () => ok(this.claims.of(ids)));
	}

	/** This partition's messages and per-subscription metrics (metrics.ts), for `/metrics` and lateness. */
	metrics(route: Route): Answer<{ messages: number; published: number; subscriptions: SubscriptionMetrics[] }> {
		return this.guarded(route, () =>
			ok({
				messages: this.store.messageCount(),
				published: this.store.publishedCount(),
				subscriptions: subscriptionMetrics(this.store, this.store.metrics, [...this.subs.bySid.values()]),
			}),
		);
	}

	/** One message with its per-subscription deliveries. */
	getMessage(route: Route, id: string): Answer<MessageView> {
		return this.guarded(route, () => {
			const message = this.admin.getMessage(id, this.subs.names());
			return message ? ok(message) : fail(new NotFound("message_not_found", `message "${id}" not found`));
		});
	}

	listMessages(
		route: Route,
		query: MessageQuery,
	): Answer<{ messages: MessageSummary[]; next: [number, number] | null }> {
		return this.guarded(route, () => this.steering.list(query));
	}

	/** Cancels a message's pending deliveries (only `subscription`'s when given: a /v2 group endpoint). */
	cancelMessage(
		route: Route,
		id: string,
		subscription: string | null = null,
	): Answer<{ id: string; cancelled: number }> {
		return this.guarded(route, async () => {
			const result = this.steering.cancel(id, subscription);
			if (result.ok && result.value.cancelled > 0) await this.rearm();
			return result;
		});
	}

	deliverMessage(route: Route, id: string): Answer<{ id: string; scheduled: number }> {
		return this.guarded(route, () => this.steering.deliverNow(id));
	}

	rescheduleMessage(
		route: Route,
		id: string,
		atMs: number,
	): Answer<{ id: string; deliverAtMs: number; scheduled: number }> {
		return this.guarded(route, () => this.steering.reschedule(id, atMs));
	}

	listDead(
		route: Route,
		name: string,
		afterMid: number,
		limit: number,
	): Answer<{ dead: DeadView[]; next: number | null }> {
		return this.guarded(route, () => this.steering.listDead(name, afterMid, limit));
	}

	/** Which of these ids are not dead for the subscription here (checked before a multi-partition redrive). */
	notDead(route: Route, name: string, ids: string[]): Answer<string[]> {
		return this.guarded(route, () => this.steering.notDead(name, ids));
	}

	redrive(route: Route, name: string, ids: string[] | null): Answer<{ redriven: number; pending: number }> {
		return this.guarded(route, () => this.steering.redrive(name, ids));
	}

	purgeDead(route: Route, name: string, ids: string[] | null = null): Answer<{ purged: number; pending: number }> {
		return this.guarded(route, async () => {
			const result = this.steering.purge(name, ids);
			// Purging finishes messages (their retention sweep needs the alarm): re-arm from the one
			// place that knows all pending times.
			if (result.ok && result.value.purged > 0) await this.rearm();
			return result;
		});
	}

	/** A page of this partition's `/v2` dead letters or log events, newest first (qstash-scan.ts). */
	qstashScan(
		route: Route,
		kind: "dead" | "events",
		filter: QstashFilter,
		beforeMs: number | null,
		limit: number,
	): Answer<QstashPage> {
		return this.guarded(route, () => {
			const scan = kind === "dead" ? scanDead : scanEvents;
			return ok(scan(this.ctx.storage.sql, this.subs.bySid, filter, beforeMs, limit));
		});
	}

	/** Cancels pending `/v2` deliveries matching the filter, one scan budget per call; `next`: go on from there. */
	qstashCancel(
		route: Route,
		filter: QstashFilter,
		afterMid: number,
	): Answer<{ cancelled: number; next: number | null }> {
		return this.guarded(route, async () => {
			const found = scanPending(this.ctx.storage.sql, this.subs.bySid, filter, afterMid);
			const nowMs = Date.now();
			const cancelled = this.store.transaction(() =>
				found.matches.reduce((n, [mid, sid]) => n + this.admin.cancel(mid, nowMs, sid), 0),
			);
			if (cancelled > 0) await this.rearm();
			return ok({ cancelled, next: found.lastMid });
		});
	}

	/** A key's limits and what they hold now (null: the key has none). */
	keyLimits(route: Route, key: string): Answer<KeyLimitsView | null> {
		return this.guarded(route, () => ok(this.keys.view(key, Date.now())));
	}

	/** Keys with limits after `afterKey`, in key order (`fifo`: the `/v2` queues). */
	listKeyLimits(route: Route, afterKey: string | null, limit: number, fifo: boolean): Answer<KeyLimitsView[]> {
		return this.guarded(route, () => ok(this.keys.list(afterKey, limit, Date.now(), fifo)));
	}

	/** Keys after `afterKey` whose due deliveries to subscription `name` may not go now (blocked-keys.ts). */
	blockedKeys(route: Route, name: string, afterKey: string | null, limit: number): Answer<BlockedKey[]> {
		return this.guarded(route, () => {
			const sub = this.subs.byName(name);
			if (!sub) return fail(new NotFound("subscription_not_found", `subscription "${name}" not found`));
			const nowMs = Date.now();
			return ok(blockedKeys(this.ctx.storage.sql, sub, this.keys.gate(nowMs), nowMs, afterKey, limit));
		});
	}

	/** Changes a key's limits; deliveries they held may go now, so the alarm and waiting receives wake. */
	changeKeyLimits(route: Route, key: string, change: KeyChange): Answer<KeyLimitsView | null> {
		return this.guarded(route, async () => {
			const nowMs = Date.now();
			const view = this.store.transaction(() => {
				this.keys.change(key, change, nowMs);
				return this.keys.view(key, nowMs);
			});
			await this.rearm();
			this.wakeDispatcher?.();
			if (this.pull.waiting) await this.pull.wake(this.subs.bySid);
			return ok(view);
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
	): Answer<{ messages: PulledMessage[] }> {
		return this.guarded(route, () => this.pull.receive(name, max, waitMs, visibilityMs, waitId));
	}

	/** Ends a waiting receive whose client disconnected (or that another partition answered). */
	async abandonReceive(waitId: string): Promise<boolean> {
		return this.pull.abandon(waitId);
	}

	ack(route: Route, name: string, receipts: string[]): Answer<Record<string, boolean>> {
		return this.guarded(route, async () => {
			const result = await this.pull.ack(name, receipts);
			await this.leaseEnded();
			return result;
		});
	}

	/** Gives leases back uncounted (a receive over several partitions leased more than it returns). */
	release(route: Route, name: string, receipts: string[]): Answer<Record<string, boolean>> {
		return this.guarded(route, async () => {
			const result = await this.pull.release(name, receipts);
			await this.leaseEnded();
			return result;
		});
	}

	nack(route: Route, name: string, receipts: string[], delayMs: number | null): Answer<Record<string, boolean>> {
		return this.guarded(route, async () => {
			const result = await this.pull.nack(name, receipts, delayMs);
			await this.leaseEnded();
			return result;
		});
	}

	/**
	 * Pull leases ended: waiting receives may get what they freed (the next of an ordered key); with
	 * key limits, so may every other subscription (a key's parallelism counts leases too).
	 */
	private async leaseEnded(): Promise<void> {
		await this.pull.wake(this.subs.bySid);
		if (!this.keys.present()) return;
		await this.rearm();
		this.wakeDispatcher?.();
	}

	extend(
		route: Route,
		name: string,
		receipt: string,
		visibilityMs: number,
	): Answer<{ extended: boolean; untilMs: number | null }> {
		return this.guarded(route, () => this.pull.extend(name, receipt, visibilityMs));
	}
}
