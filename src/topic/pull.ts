import { afterFailure } from "../delivery/classify";
import { makeReceipt, newReceiptKey, type ReceiptClaim, readReceipt, receiptKey } from "../delivery/receipt";
import { AppError, fail, NotFound, ok, type Result } from "../errors";
import { type AttemptFailure, logFailure } from "./attempt-log";
import type { KeyLimits } from "./key-limits";
import type { SubscriptionRow, TopicStore } from "./store";
import { AttemptTally } from "./store-metrics";
import { type LeasedRow, PullStore } from "./store-pull";
import type { TailFeed } from "./tail-feed";

/** A message as a pull consumer receives it. */
export interface PulledMessage {
	id: string;
	receipt: string;
	/** The stored bytes; the Worker parses JSON content types. */
	body: string;
	contentType: string;
	headers: Record<string, string>;
	attempt: number;
	deliverAtMs: number;
}

/** How long an abandon that came before its receive is remembered (longer than any long poll). */
const ABANDONED_KEPT_MS = 60_000;

interface Waiter {
	/** Chosen by the caller, so it can abandon the wait when its client goes away. */
	waitId: string | null;
	sid: number;
	max: number;
	visibilityMs: number;
	timer: ReturnType<typeof setTimeout>;
	resolve: (messages: PulledMessage[]) => void;
}

/** What pull consumers need from their object. */
export interface PullDeps {
	store: TopicStore;
	sql: SqlStorage;
	subByName: (name: string) => SubscriptionRow | undefined;
	/** Makes the alarm fire no later than `atMs`. */
	wakeBy: (atMs: number) => Promise<void>;
	/** Limits of message keys (a lease starts an attempt of its key). */
	keys: KeyLimits;
	/** The topic's subscriptions by sid. */
	subs: () => Map<number, SubscriptionRow>;
	/** The live tail: a lease starts an attempt; an ack or nack settles it. */
	tail?: TailFeed;
	/** The topic's name, for the log lines of nacked attempts (attempt-log.ts). */
	topicName?: () => string;
}

/**
 * Pull subscriptions: leases with receipts, and long polls that wait in memory until the alarm
 * (at the due time) or a publish wakes them. Nothing polls SQLite in a loop.
 */
export class PullConsumers {
	private readonly pull: PullStore;
	private readonly waiters = new Set<Waiter>();
	/** Wait ids abandoned before their receive arrived, until when they are remembered. */
	private readonly abandoned = new Map<string, number>();
	private key: Promise<CryptoKey> | null = null;

	constructor(private readonly deps: PullDeps) {
		this.pull = new PullStore(deps.sql);
	}

	private receiptKey(): Promise<CryptoKey> {
		this.key ??= receiptKey(this.pull.receiptKey(newReceiptKey));
		return this.key;
	}

	/** Forgets cached state (the topic was deleted: a new key comes with the new topic). */
	reset(): void {
		this.key = null;
		for (const w of this.waiters) {
			clearTimeout(w.timer);
			w.resolve([]);
		}
		this.waiters.clear();
	}

	private pullSub(name: string): SubscriptionRow | AppError {
		const sub = this.deps.subByName(name);
		if (!sub) return new NotFound("subscription_not_found", `subscription "${name}" not found`);
		if (sub.config.type !== "pull") {
			return new AppError(409, "not_pull", `subscription "${name}" is of type ${sub.config.type}, not pull`);
		}
		return sub;
	}

	private async toPulled(sid: number, rows: LeasedRow[]): Promise<PulledMessage[]> {
		const key = await this.receiptKey();
		return Promise.all(
			rows.map(async (r) => ({
				id: r.messageId,
				receipt: await makeReceipt(key, { sid, mid: r.mid, lease: r.lease }),
				body: r.body,
				contentType: r.contentType,
				headers: r.headers,
				attempt: r.attempt,
				deliverAtMs: r.deliverAtMs,
			})),
		);
	}

	/** Leases due messages; the alarm is armed for the leases' end, when expired ones come back. */
	private async leaseNow(sub: SubscriptionRow, max: number, visibilityMs: number): Promise<LeasedRow[]> {
		if (sub.config.paused) return [];
		const nowMs = Date.now();
		const ordered = sub.config.ordering === "key";
		const rows = this.deps.store.transaction(() => {
			const gate = this.deps.keys.gate(nowMs);
			const leased = this.pull.lease(sub.sid, nowMs, nowMs + visibilityMs, max, ordered, gate);
			if (gate) this.deps.keys.recordStarts(leased, nowMs);
			return leased;
		});
		if (rows.length > 0 && this.deps.tail?.listening(nowMs)) {
			this.deps.tail.attemptsStarted(rows, nowMs);
			this.deps.tail.flush();
		}
		if (rows.length > 0) await this.deps.wakeBy(nowMs + visibilityMs);
		return rows;
	}

	/** Leases up to `max` due messages; with nothing due, waits up to `waitMs` for some. */
	async receive(
		name: string,
		max: number,
		waitMs: number,
		visibilityMs: number | null,
		waitId: string | null = null,
	): Promise<Result<{ messages: PulledMessage[] }>> {
		const sub = this.pullSub(name);
		if (sub instanceof AppError) return fail(sub);
		const leaseMs = visibilityMs ?? sub.config.visibilityTimeoutMs;
		const rows = await this.leaseNow(sub, max, leaseMs);
		if (rows.length > 0 || waitMs <= 0 || (waitId !== null && this.wasAbandoned(waitId))) {
			return ok({ messages: await this.toPulled(sub.sid, rows) });
		}
		const next = this.nextLeasableAtMs(sub.sid);
		if (next !== null && next < Date.now() + waitMs) await this.deps.wakeBy(next);
		const messages = await new Promise<PulledMessage[]>((resolve) => {
			const waiter: Waiter = {
				waitId,
				sid: sub.sid,
				max,
				visibilityMs: leaseMs,
				resolve,
				timer: setTimeout(() => {
					this.waiters.delete(waiter);
					resolve([]);
				}, waitMs),
			};
			this.waiters.add(waiter);
		});
		return ok({ messages });
	}

	/** Hands due messages to waiting receives, oldest waiter first. Called by the alarm and after publishes. */
	async wake(subs: Map<number, SubscriptionRow>): Promise<void> {
		for (const waiter of [...this.waiters]) {
			// Timed out or abandoned while this loop awaited: it already answered, it must lease nothing.
			if (!this.waiters.has(waiter)) continue;
			const sub = subs.get(waiter.sid);
			if (sub?.config.type !== "pull") {
				this.waiters.delete(waiter);
				clearTimeout(waiter.timer);
				waiter.resolve([]);
				continue;
			}
			const rows = await this.leaseNow(sub, waiter.max, waiter.visibilityMs);
			if (rows.length === 0) continue;
			this.waiters.delete(waiter);
			clearTimeout(waiter.timer);
			waiter.resolve(await this.toPulled(sub.sid, rows));
		}
	}

	/** Ends a waiting receive whose client went away, before it leases anything. */
	abandon(waitId: string): boolean {
		for (const waiter of this.waiters) {
			if (waiter.waitId !== waitId) continue;
			this.waiters.delete(waiter);
			clearTimeout(waiter.timer);
			waiter.resolve([]);
			return true;
		}
		// Not waiting yet (its receive is still on the way): it must not start waiting when it arrives.
		this.abandoned.set(waitId, Date.now() + ABANDONED_KEPT_MS);
		return false;
	}

	/** True when `waitId` was abandoned before its receive arrived (forgotten after a while). */
	private wasAbandoned(waitId: string): boolean {
		const nowMs = Date.now();
		for (const [id, untilMs] of this.abandoned) if (untilMs < nowMs) this.abandoned.delete(id);
		return this.abandoned.delete(waitId);
	}

	/** The earliest due time a waiting receive needs the alarm for. */
	nextWakeAtMs(): number | null {
		let earliest: number | null = null;
		for (const sid of new Set([...this.waiters].map((w) => w.sid))) {
			const next = this.nextLeasableAtMs(sid);
			if (next !== null && (earliest === null || next < earliest)) earliest = next;
		}
		return earliest;
	}

	/**
	 * When a receive of subscription `sid` could next lease something: the earliest delivery a lease
	 * may take when due, or when a key held by its rate frees; null when only a lease's end or a
	 * change (an ack, a resumed key: they wake receives themselves) can free anything.
	 */
	private nextLeasableAtMs(sid: number): number | null {
		const sub = this.deps.subs().get(sid);
		const gate = this.deps.keys.gate(Date.now());
		const next = this.pull.nextScheduledAtMs(sid, sub?.config.ordering === "key", gate);
		const free = gate?.freeAtMs ?? null;
		return next === null ? free : free === null ? next : Math.min(next, free);
	}

	get waiting(): boolean {
		return this.waiters.size > 0;
	}

	/** Acks receipts; each is true only if it names the current lease. */
	async ack(name: string, receipts: string[]): Promise<Result<Record<string, boolean>>> {
		const tail = this.deps.tail?.listening() ? this.deps.tail : null;
		const tally = new AttemptTally();
		const result = await this.settle(
			name,
			receipts,
			(sid, c, nowMs) => {
				const acked = this.pull.ack(sid, c.mid, c.lease, nowMs);
				if (acked) tally.outcome(sid, "delivered");
				if (acked && tail) this.tailSettled(tail, sid, c, { kind: "delivered", status: null, atMs: nowMs }, nowMs);
				return acked;
			},
			tally,
		);
		tail?.flush();
		return result;
	}

	/** Tells the live tail a lease was settled (its id and attempt read only now, while someone listens). */
	private tailSettled(
		tail: TailFeed,
		sid: number,
		c: ReceiptClaim,
		outcome:
			| { kind: "delivered"; status: null; atMs: number }
			| { kind: "retry"; status: null; error: string; nextAtMs: number }
			| { kind: "dead"; status: null; error: string },
		nowMs: number,
	): void {
		const ref = this.pull.leaseRef(sid, c.mid, c.lease);
		if (ref) tail.recorded({ ...outcome, mid: c.mid, sid, lease: c.lease, ...ref }, nowMs);
	}

	/** Gives leases back uncounted, due now (a receive over several partitions leased too many). */
	release(name: string, receipts: string[]): Promise<Result<Record<string, boolean>>> {
		return this.settle(name, receipts, (sid, c, nowMs) => this.pull.unlease(sid, c.mid, c.lease, nowMs, nowMs));
	}

	/**
	 * Applies `fn` to the lease each receipt names, in one transaction; a receipt given twice is
	 * settled once and reported once (a second `false` would hide the first result).
	 */
	private async settle(
		name: string,
		receipts: string[],
		fn: (sid: number, claim: ReceiptClaim, nowMs: number) => boolean,
		tally?: AttemptTally,
	): Promise<Result<Record<string, boolean>>> {
		const sub = this.pullSub(name);
		if (sub instanceof AppError) return fail(sub);
		const unique = [...new Set(receipts)];
		const claims = await this.readAll(sub.sid, unique);
		const nowMs = Date.now();
		return ok(
			this.deps.store.transaction(() => {
				const results = Object.fromEntries(
					unique.map((r, i) => {
						const c = claims[i];
						return [r, c ? fn(sub.sid, c, nowMs) : false];
					}),
				);
				tally?.write(this.deps.sql);
				return results;
			}),
		);
	}

	/** Ends leases unacked: scheduled again after `delayMs` (or the backoff), dead at max_attempts. */
	async nack(name: string, receipts: string[], delayMs: number | null): Promise<Result<Record<string, boolean>>> {
		const sub = this.pullSub(name);
		if (sub instanceof AppError) return fail(sub);
		const unique = [...new Set(receipts)];
		const claims = await this.readAll(sub.sid, unique);
		const nowMs = Date.now();
		const tail = this.deps.tail?.listening(nowMs) ? this.deps.tail : null;
		let earliest = Number.POSITIVE_INFINITY;
		const tally = new AttemptTally();
		const failures: AttemptFailure[] = [];
		const results = this.deps.store.transaction(() => {
			const settled = Object.fromEntries(
				unique.map((r, i) => {
					const c = claims[i];
					if (!c) return [r, false];
					const attempts = this.pull.attemptsOf(sub.sid, c.mid, c.lease);
					if (attempts === null) return [r, false];
					const next = afterFailure(sub.config.retry, attempts, delayMs, nowMs);
					const atMs = next.kind === "retry" ? (delayMs !== null ? nowMs + delayMs : next.atMs) : null;
					if (atMs !== null) earliest = Math.min(earliest, atMs);
					const released = this.pull.release(sub.sid, c.mid, c.lease, atMs, "nacked", nowMs);
					if (released) {
						tally.outcome(sub.sid, atMs === null ? "dead" : "retry");
						const messageId = this.pull.leaseRef(sub.sid, c.mid, c.lease)?.messageId ?? "";
						failures.push({
							subscription: name,
							messageId,
							attempt: attempts,
							status: null,
							error: "nacked",
							nextAtMs: atMs,
						});
					}
					if (released && tail) {
						const outcome =
							atMs === null
								? { kind: "dead" as const, status: null, error: "nacked" }
								: { kind: "retry" as const, status: null, error: "nacked", nextAtMs: atMs };
						this.tailSettled(tail, sub.sid, c, outcome, nowMs);
					}
					return [r, released];
				}),
			);
			tally.write(this.deps.sql);
			return settled;
		});
		const topic = this.deps.topicName?.();
		if (topic) for (const f of failures) logFailure(topic, f);
		tail?.flush();
		if (earliest !== Number.POSITIVE_INFINITY && this.waiting) await this.deps.wakeBy(earliest);
		return ok(results);
	}

	/** Moves a lease's end to `visibilityMs` from now; false when the receipt is stale or forged. */
	async extend(
		name: string,
		receipt: string,
		visibilityMs: number,
	): Promise<Result<{ extended: boolean; untilMs: number | null }>> {
		const sub = this.pullSub(name);
		if (sub instanceof AppError) return fail(sub);
		const [c] = await this.readAll(sub.sid, [receipt]);
		const nowMs = Date.now();
		const untilMs = nowMs + visibilityMs;
		const extended = c
			? this.deps.store.transaction(() => this.pull.extend(sub.sid, c.mid, c.lease, untilMs, nowMs))
			: false;
		// A shortened lease must still come back when it ends.
		if (extended) await this.deps.wakeBy(untilMs);
		return ok({ extended, untilMs: extended ? untilMs : null });
	}

	private async readAll(sid: number, receipts: string[]) {
		const key = await this.receiptKey();
		return Promise.all(receipts.map((r) => readReceipt(key, sid, r)));
	}
}
