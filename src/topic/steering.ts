import { AppError, Conflict, fail, NotFound, ok, type Result } from "../errors";
import { claimAtMs } from "./dispatcher";
import { MAINTENANCE_BATCH } from "./maintenance";
import type { SubscriptionRow, TopicStore } from "./store";
import type { AdminStore } from "./store-admin";
import type { DeadView, MessageQuery, MessageSummary } from "./types";

/** What steering needs from its object. */
export interface SteeringDeps {
	store: TopicStore;
	admin: AdminStore;
	subByName: (name: string) => SubscriptionRow | undefined;
	subNames: () => Map<number, string>;
	/** Makes the alarm fire no later than `atMs`. */
	wakeBy: (atMs: number) => Promise<void>;
}

const messageNotFound = (id: string) => new NotFound("message_not_found", `message "${id}" not found`);
const subscriptionNotFound = (name: string) =>
	new NotFound("subscription_not_found", `subscription "${name}" not found`);

/**
 * Steering messages and dead letters. Races with an attempt in flight are settled by the
 * attempt's check-and-set: a cancelled delivery stays cancelled whatever the attempt answers.
 */
export class Steering {
	constructor(private readonly deps: SteeringDeps) {}

	/** Cancels every pending delivery (scheduled or in flight) of a message. */
	cancel(id: string, subscription: string | null = null): Result<{ id: string; cancelled: number }> {
		const { store, admin } = this.deps;
		const mid = admin.midOf(id);
		if (mid === null) return fail(messageNotFound(id));
		let sid: number | null = null;
		if (subscription !== null) {
			const sub = this.deps.subByName(subscription);
			if (!sub) return ok({ id, cancelled: 0 });
			sid = sub.sid;
		}
		return ok({ id, cancelled: store.transaction(() => admin.cancel(mid, Date.now(), sid)) });
	}

	/** Makes every scheduled delivery of a message due now. */
	async deliverNow(id: string): Promise<Result<{ id: string; scheduled: number }>> {
		const { store, admin } = this.deps;
		const mid = admin.midOf(id);
		if (mid === null) return fail(messageNotFound(id));
		const nowMs = Date.now();
		const n = store.transaction(() => admin.moveScheduled(mid, nowMs, nowMs));
		if (n > 0) await this.deps.wakeBy(claimAtMs(nowMs));
		return ok({ id, scheduled: n });
	}

	/** Moves a message's due time and its scheduled deliveries; 409 when none is scheduled. */
	async reschedule(id: string, atMs: number): Promise<Result<{ id: string; deliverAtMs: number; scheduled: number }>> {
		const { store, admin } = this.deps;
		const mid = admin.midOf(id);
		if (mid === null) return fail(messageNotFound(id));
		const n = store.transaction(() => {
			const moved = admin.moveScheduled(mid, atMs, Date.now());
			if (moved > 0) admin.setDeliverAt(mid, atMs);
			return moved;
		});
		if (n === 0) {
			return fail(new Conflict("not_scheduled", `message "${id}" has no scheduled delivery to move`));
		}
		await this.deps.wakeBy(claimAtMs(atMs));
		return ok({ id, deliverAtMs: atMs, scheduled: n });
	}

	/** A page of messages, newest due first; `next` is the position after the last one. */
	list(q: MessageQuery): Result<{ messages: MessageSummary[]; next: [number, number] | null }> {
		const { admin } = this.deps;
		let sid: number | null = null;
		if (q.subscription !== null) {
			const sub = this.deps.subByName(q.subscription);
			if (!sub) return fail(subscriptionNotFound(q.subscription));
			sid = sub.sid;
		}
		const rows = admin.listMessages({ state: q.state, sid, fromMs: q.fromMs, toMs: q.toMs, before: q.before }, q.limit);
		const page = rows.slice(0, q.limit);
		const names = this.deps.subNames();
		const byMid = new Map<number, MessageSummary["deliveries"]>();
		for (const d of admin.deliveriesOf(page.map((r) => r.mid))) {
			const list = byMid.get(d.mid) ?? [];
			list.push({ subscription: names.get(d.sid) as string, state: d.state, attempts: d.attempts });
			byMid.set(d.mid, list);
		}
		const last = page.at(-1);
		return ok({
			messages: page.map((r) => ({
				mid: r.mid,
				id: r.id,
				contentType: r.contentType,
				requestId: r.requestId,
				key: r.key,
				deliverAtMs: r.deliverAtMs,
				publishedAtMs: r.publishedAtMs,
				deliveries: (byMid.get(r.mid) ?? []).sort((a, b) => a.subscription.localeCompare(b.subscription)),
			})),
			next: rows.length > q.limit && last ? [last.deliverAtMs, last.mid] : null,
		});
	}

	/** A page of a subscription's dead deliveries, in message order. */
	listDead(name: string, afterMid: number, limit: number): Result<{ dead: DeadView[]; next: number | null }> {
		const sub = this.deps.subByName(name);
		if (!sub) return fail(subscriptionNotFound(name));
		const rows = this.deps.admin.listDead(sub.sid, afterMid, limit + 1);
		const page = rows.slice(0, limit);
		const last = page.at(-1);
		return ok({
			dead: page.map((r) => ({
				mid: r.mid,
				messageId: r.messageId,
				subscription: name,
				attempts: r.attempts,
				lastStatus: r.lastStatus,
				lastError: r.lastError,
				deadAtMs: r.deadAtMs,
			})),
			next: rows.length > limit && last ? last.mid : null,
		});
	}

	/** Which of these message ids are not dead for the subscription (unknown ids included). */
	notDead(name: string, ids: string[]): Result<string[]> {
		const sub = this.deps.subByName(name);
		return sub ? ok(this.deps.admin.notDead(sub.sid, [...new Set(ids)])) : fail(subscriptionNotFound(name));
	}

	/**
	 * Schedules dead deliveries again now with attempts reset: the named ones (all must be dead,
	 * else 409 and nothing changes), or all of them, the first batch at once and the rest by the
	 * alarm in bounded batches.
	 */
	async redrive(name: string, ids: string[] | null): Promise<Result<{ redriven: number; pending: number }>> {
		const { store, admin } = this.deps;
		const sub = this.deps.subByName(name);
		if (!sub) return fail(subscriptionNotFound(name));
		const nowMs = Date.now();
		if (ids !== null) {
			const unique = [...new Set(ids)];
			const missing = admin.notDead(sub.sid, unique);
			if (missing.length > 0) {
				const issues = missing.map((id) => ({ path: "ids", message: `"${id}" is not dead in "${name}"` }));
				return fail(
					new AppError(409, "not_dead", `${missing.length} of the ids are not dead; nothing was redriven`, issues),
				);
			}
			const n = store.transaction(() => admin.redriveIds(sub.sid, unique, nowMs));
			if (n > 0) await this.deps.wakeBy(claimAtMs(nowMs));
			return ok({ redriven: n, pending: 0 });
		}
		const n = store.transaction(() => admin.redriveBatch(sub.sid, nowMs, nowMs, MAINTENANCE_BATCH));
		let pending = 0;
		if (n === MAINTENANCE_BATCH) {
			store.transaction(() => admin.addJob("redrive", sub.sid, nowMs));
			pending = this.deadCount(sub.sid);
		}
		if (n > 0) await this.deps.wakeBy(claimAtMs(nowMs));
		return ok({ redriven: n, pending });
	}

	/**
	 * Deletes a subscription's dead deliveries: those of the named messages (`ids`), or all of them,
	 * a first batch at once and the rest by the alarm.
	 */
	purge(name: string, ids: string[] | null = null): Result<{ purged: number; pending: number }> {
		const { store, admin } = this.deps;
		const sub = this.deps.subByName(name);
		if (!sub) return fail(subscriptionNotFound(name));
		if (ids !== null)
			return ok({ purged: store.transaction(() => admin.purgeIds(sub.sid, [...new Set(ids)])), pending: 0 });
		const nowMs = Date.now();
		const n = store.transaction(() => admin.purgeBatch(sub.sid, nowMs, MAINTENANCE_BATCH));
		let pending = 0;
		if (n === MAINTENANCE_BATCH) {
			store.transaction(() => admin.addJob("purge_dead", sub.sid, nowMs));
			pending = this.deadCount(sub.sid);
		}
		// The caller re-arms the alarm (for the queued job and the retention sweep).
		return ok({ purged: n, pending });
	}

	private deadCount(sid: number): number {
		return this.deps.store.countsBySubscription().find((c) => c.sid === sid && c.state === "dead")?.n ?? 0;
	}
}
