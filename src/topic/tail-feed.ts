import type { AttemptRecord, ClaimedDelivery, ExpiredLease } from "./store";
import { NO_LISTENERS, type TailLease, type TailRecord } from "./tail-events";

/** Events a partition holds while a batch is on its way to the hub; beyond this they are counted as dropped. */
export const TAIL_BUFFER_MAX = 1000;
/** After a failed send, how long before the next one (the hub may be restarting). */
const RETRY_AFTER_MS = 1000;
/** Failed sends in a row after which the partition stops forwarding until the hub renews its lease. */
const FAILURES_MAX = 5;
/** Where the lease is kept (synchronous KV of the object's SQLite storage), so a restart keeps it. */
const LEASE_KEY = "tail.lease";

/** Sends a batch of events to the topic's hub; answers its current lease. */
export type TailSend = (events: TailRecord[]) => Promise<TailLease>;

/** What the feed counted since the object started (tests and diagnostics). */
export interface TailFeedStats {
	/** Batches the hub accepted. */
	batches: number;
	/** Events in them (a `dropped` event included). */
	events: number;
	/** Events not forwarded (buffer full, or a send failed). */
	dropped: number;
}

/**
 * A partition's side of the live tail: while the hub says the topic has listeners (a lease), the
 * partition's events are buffered and sent in batches, one RPC at a time, never awaited by the
 * delivery path; a slow hub makes the buffer fill and events be counted as dropped (reported as a
 * `dropped` event), never a delivery fail or wait. Without listeners, every producer stops at one
 * in-memory check (`listening`).
 */
export class TailFeed {
	private lease: TailLease;
	private buffer: TailRecord[] = [];
	private droppedSinceSent = 0;
	private sending = false;
	private failures = 0;
	private pausedUntilMs = 0;
	readonly stats: TailFeedStats = { batches: 0, events: 0, dropped: 0 };

	constructor(
		private readonly kv: SyncKvStorage,
		private readonly send: TailSend,
		private readonly subName: (sid: number) => string | undefined,
	) {
		this.lease = kv.get<TailLease>(LEASE_KEY) ?? NO_LISTENERS;
	}

	/** The one check every producer makes first: does anyone listen now? */
	listening(nowMs: number = Date.now()): boolean {
		return this.lease.untilMs > nowMs;
	}

	/** The hub's decision (a renewal, or what it answered a batch); an older one than the current is ignored. */
	listen(lease: TailLease): void {
		if (lease.version < this.lease.version) return;
		if (lease.version === this.lease.version && lease.untilMs === this.lease.untilMs) return;
		this.lease = lease;
		this.kv.put(LEASE_KEY, lease);
		this.failures = 0;
		this.pausedUntilMs = 0;
		if (!this.listening()) this.clear();
	}

	/** Storage was wiped (the topic deleted): no lease, nothing pending. */
	reset(): void {
		this.lease = NO_LISTENERS;
		this.clear();
	}

	/** The lease as the partition holds it. */
	currentLease(): TailLease {
		return this.lease;
	}

	private clear(): void {
		this.buffer = [];
		this.droppedSinceSent = 0;
	}

	/** Queues one event for the next batch (counted as dropped when the buffer is full). */
	emit(record: TailRecord): void {
		if (this.buffer.length >= TAIL_BUFFER_MAX) {
			this.droppedSinceSent++;
			this.stats.dropped++;
			return;
		}
		this.buffer.push(record);
	}

	/** Attempts whose requests start now (a queue batch is one request for several). */
	attemptsStarted(claims: readonly ClaimedDelivery[], atMs: number): void {
		for (const d of claims) {
			const subscription = this.subName(d.sid);
			if (subscription === undefined) continue;
			this.emit({
				type: "attempt_started",
				atMs,
				subscription,
				messageId: d.messageId,
				attempt: d.attempt,
				dueAtMs: d.dueAtMs,
			});
		}
	}

	/** Attempts that got their answer (`records`: what they lead to), started at `startedAtMs`. */
	attemptsEnded(claims: readonly ClaimedDelivery[], records: readonly AttemptRecord[], startedAtMs: number): void {
		const atMs = Date.now();
		for (const r of records) {
			const d = claims.length === 1 ? claims[0] : claims.find((c) => c.mid === r.mid && c.sid === r.sid);
			const subscription = this.subName(r.sid);
			if (!d || subscription === undefined) continue;
			this.emit({
				type: "attempt_ended",
				atMs,
				subscription,
				messageId: d.messageId,
				attempt: d.attempt,
				dueAtMs: d.dueAtMs,
				startedAtMs,
				outcome: r.kind,
				status: r.status,
				error: r.kind === "delivered" ? null : r.error,
			});
		}
	}

	/** An attempt's outcome was recorded: the delivery is now delivered, scheduled again, or dead. */
	recorded(r: AttemptRecord, atMs: number): void {
		const subscription = this.subName(r.sid);
		if (subscription === undefined) return;
		const ref = { subscription, messageId: r.messageId, attempt: r.attempt, atMs };
		if (r.kind === "delivered") this.emit({ type: "delivered", ...ref, status: r.status });
		else if (r.kind === "retry")
			this.emit({ type: "retry_scheduled", ...ref, nextAttemptAtMs: r.nextAtMs, status: r.status, error: r.error });
		else this.emit({ type: "dead", ...ref, status: r.status, error: r.error });
	}

	/** A lease ended without an outcome (a pull consumer's, or a push attempt of an instance that died). */
	leaseExpired(e: ExpiredLease, atMs: number): void {
		const subscription = this.subName(e.sid);
		if (subscription === undefined) return;
		const ref = { subscription, messageId: e.messageId, attempt: e.attempts, atMs, status: null };
		const error = "lease expired without an outcome";
		if (e.nextAtMs === null) this.emit({ type: "dead", ...ref, error });
		else this.emit({ type: "retry_scheduled", ...ref, nextAttemptAtMs: e.nextAtMs, error });
	}

	/**
	 * Sends one event at once, past the buffer (a batch on its way would leave it behind, and the
	 * buffer is about to be wiped); never awaited, a failure is only logged.
	 */
	sendNow(record: TailRecord): void {
		if (!this.listening()) return;
		try {
			this.send([record]).catch((error: unknown) => console.error("sundial: tail event not forwarded", error));
		} catch (error) {
			console.error("sundial: tail event not forwarded", error);
		}
	}

	/**
	 * Sends what is buffered, unless a send is on its way (its answer sends the rest): one RPC at a
	 * time per partition, so events reach the hub in the order they happened. Never awaited.
	 */
	flush(): void {
		if (this.sending || (this.buffer.length === 0 && this.droppedSinceSent === 0)) return;
		const nowMs = Date.now();
		if (!this.listening(nowMs)) {
			this.clear();
			return;
		}
		if (nowMs < this.pausedUntilMs) return;
		const batch = this.buffer;
		this.buffer = [];
		if (this.droppedSinceSent > 0) batch.push({ type: "dropped", atMs: nowMs, count: this.droppedSinceSent });
		this.droppedSinceSent = 0;
		this.sending = true;
		let sent: Promise<TailLease>;
		try {
			sent = this.send(batch);
		} catch (error) {
			sent = Promise.reject(error);
		}
		sent.then(
			(lease) => {
				this.sending = false;
				this.failures = 0;
				this.stats.batches++;
				this.stats.events += batch.length;
				this.listen(lease);
				this.flush();
			},
			(error: unknown) => {
				this.sending = false;
				const lost = batch.reduce((n, e) => n + (e.type === "dropped" ? e.count : 1), 0);
				this.droppedSinceSent += lost;
				this.stats.dropped += batch.filter((e) => e.type !== "dropped").length;
				this.failures++;
				this.pausedUntilMs = Date.now() + RETRY_AFTER_MS;
				console.error(`sundial: tail events not forwarded (${lost})`, error);
				// The hub is gone or broken: stop until it renews the lease.
				if (this.failures >= FAILURES_MAX) {
					this.lease = { untilMs: 0, version: this.lease.version };
					this.clear();
				}
			},
		);
	}
}
