import { MAX_CONCURRENT_DELIVERIES } from "../delivery/pool";
import type { KeyLimits } from "./key-limits";
import { RATE_MARGIN_MS, rateWindowStart, STARTED_IN_FLIGHT } from "./rate-window";
import { StagedMap } from "./staged-map";
import type { AttemptRecord, SubscriptionRow } from "./store";
import type { ClaimedDelivery } from "./store-claim";
import type { FlowStore } from "./store-flow";
import { attemptKey } from "./store-record";
import type { TopicConfig } from "./types";

/**
 * Flow control in one partition (README "Flow control"): how many more deliveries each push
 * subscription may claim now. Three limits, the smallest wins:
 *
 * - **Isolation.** One object has 6 attempts waiting for a response at most (PLATFORM.md §1), and
 *   together the webhook subscriptions never hold more. Of n webhook subscriptions, b have work
 *   (in flight, or due within BUSY_AHEAD_MS): each idle one keeps a slot in reserve and each busy
 *   one may hold ⌊(6 − (n − b)) / b⌋ (at most 7 − n), so the slots held never exceed 6 with one
 *   left for every subscription whose work arrives later, a busy neighbour keeps an even share (3
 *   of 6 beside one other) rather than a single slot, and any number of hanging receivers leave
 *   every other subscription a slot (n ≤ 6).
 * - **`parallelism`**: attempts in flight for the subscription across the topic; each partition
 *   holds its share (the limit split as evenly as integers allow, so the shares sum to the limit).
 * - **`rate`**: attempts started in any window of `period` (sliding), split the same way.
 *
 * Held deliveries stay `scheduled` and are claimed, in due order, as capacity frees.
 */

/** This partition's share of a topic-wide limit: the limit split over the partitions, summing to it. */
export function shareOf(limit: number, topic: Pick<TopicConfig, "partition" | "partitions">): number {
	const base = Math.floor(limit / topic.partitions);
	return base + (topic.partition < limit % topic.partitions ? 1 : 0);
}

/**
 * A subscription with a delivery due this soon counts as busy for the isolation share: long enough
 * that a steady stream counts between its deliveries, not only at their instants.
 */
const BUSY_AHEAD_MS = 1000;

/** Most deliveries of one subscription a claim takes (its capacity when no limit binds). */
const MAX_CLAIM = 1000;

/** The most slots one busy webhook subscription may hold: of `webhooks` of them, `busy` have work. */
export function isolationCap(webhooks: number, busy: number): number {
	const slots = MAX_CONCURRENT_DELIVERIES;
	const shared = slots - (webhooks - busy); // one in reserve for each idle subscription
	return Math.max(1, Math.min(slots + 1 - webhooks, Math.floor(shared / Math.max(1, busy))));
}

const isPush = (s: SubscriptionRow) => s.config.type !== "pull" && !s.config.paused;

/** True when claims must go subscription by subscription (a limit or a neighbour to be isolated from). */
export function flowActive(subs: Iterable<SubscriptionRow>): boolean {
	let push = 0;
	for (const s of subs) {
		if (!isPush(s)) continue;
		push++;
		if (s.config.rate || s.config.parallelism || s.config.ordering || push > 1) return true;
	}
	return false;
}

/** What the capacities are computed from, read from the partition's state. */
export interface FlowState {
	/** Attempts in flight (claimed, not yet recorded) by subscription. */
	inFlight: (sid: number) => number;
	/** Attempts started after `sinceMs` by a rate-limited subscription. */
	startedSince: (sid: number, sinceMs: number) => number;
	/** When the oldest attempt started after `sinceMs` did, or null. */
	oldestStartSince: (sid: number, sinceMs: number) => number | null;
	/** The earliest due scheduled delivery by subscription (none: nothing scheduled). */
	earliestDue: ReadonlyMap<number, number>;
}

/** Why a subscription may claim no more now. */
export type HeldBy = "isolation" | "parallelism" | "rate";

export interface Capacity {
	/** How many more deliveries it may claim now. */
	free: number;
	/** What binds when `free` is 0. */
	heldBy: HeldBy | null;
	/** When a rate-held subscription may start again (null: when an attempt ends). */
	freeAtMs: number | null;
}

/**
 * The capacity of each push subscription now. A rate window is counted back from now, which also
 * covers deliveries claimed ahead of their due time (they start later, inside it).
 */
export function capacities(
	subs: Map<number, SubscriptionRow>,
	topic: Pick<TopicConfig, "partition" | "partitions">,
	state: FlowState,
	nowMs: number,
): Map<number, Capacity> {
	const push = [...subs.values()].filter(isPush);
	// Webhooks hold connection slots; a queue subscription sends batches through its binding, and its
	// in-flight count is of messages, not requests: the isolation cap is not for it.
	const webhooks = push.filter((s) => s.config.type === "webhook");
	const busy = webhooks.filter((s) => {
		const due = state.earliestDue.get(s.sid);
		return state.inFlight(s.sid) > 0 || (due !== undefined && due <= nowMs + BUSY_AHEAD_MS);
	}).length;
	const cap = isolationCap(webhooks.length, busy);
	// Slots no webhook subscription holds (carried attempts of ended runs included: they are in flight).
	const open = MAX_CONCURRENT_DELIVERIES - webhooks.reduce((sum, s) => sum + state.inFlight(s.sid), 0);
	const out = new Map<number, Capacity>();
	for (const s of push) {
		const inFlight = state.inFlight(s.sid);
		let free = s.config.type === "webhook" ? Math.min(cap - inFlight, open) : Number.POSITIVE_INFINITY;
		let heldBy: HeldBy | null = free <= 0 ? "isolation" : null;
		let freeAtMs: number | null = null;
		const { parallelism, rate } = s.config;
		if (parallelism) {
			const left = shareOf(parallelism, topic) - inFlight;
			if (left < free) {
				free = left;
				heldBy = "parallelism";
			}
		}
		if (rate) {
			const since = rateWindowStart(nowMs, rate.periodMs);
			const left = shareOf(rate.limit, topic) - state.startedSince(s.sid, since);
			if (left < free || (left <= 0 && free <= 0)) {
				free = left;
				heldBy = "rate";
				const oldest = state.oldestStartSince(s.sid, since);
				// Held by attempts in flight: their end (which the dispatcher sees) frees it.
				const dated = oldest !== null && oldest < STARTED_IN_FLIGHT;
				freeAtMs = left <= 0 && dated ? oldest + rate.periodMs + RATE_MARGIN_MS + 1 : null;
			}
		}
		out.set(s.sid, { free: Math.max(0, Math.min(free, MAX_CLAIM)), heldBy: free > 0 ? null : heldBy, freeAtMs });
	}
	return out;
}

/**
 * Flow control as the dispatcher and the alarm use it: claims within each subscription's capacity,
 * and when work is next claimable. Inactive (one push subscription, no limits) it is not used:
 * claims and the alarm take the single-query path.
 */
export class FlowControl {
	/**
	 * Claims whose start was recorded in flight, by `mid:sid:lease`: each start is dated once, by its
	 * attempt's record or, when that never comes, by its lease's end. A record that comes after its
	 * lease ended (or after a restart, which dated every start already) dates nothing: dating some
	 * other attempt's start before its answer could let limit + 1 arrive within a period.
	 */
	private readonly startsInFlight = new StagedMap<{ rate: boolean }>();

	constructor(
		private readonly store: FlowStore,
		private readonly subs: () => Map<number, SubscriptionRow>,
		private readonly topic: () => TopicConfig | null,
		private readonly keys: KeyLimits,
	) {}

	active(): boolean {
		return this.topic() !== null && (flowActive(this.subs().values()) || this.keys.present());
	}

	private capacities(
		nowMs: number,
		inFlight = this.store.inFlightBySub(),
		earliestDue = this.store.earliestDueBySub(),
	): Map<number, Capacity> {
		const topic = this.topic() as TopicConfig;
		return capacities(
			this.subs(),
			topic,
			{
				inFlight: (sid) => inFlight.get(sid) ?? 0,
				startedSince: (sid, since) => this.store.startedSince(sid, since),
				oldestStartSince: (sid, since) => this.store.oldestStartSince(sid, since),
				earliestDue,
			},
			nowMs,
		);
	}

	/**
	 * Claims up to `limit` deliveries due by `nowMs + aheadMs`, each subscription within its
	 * capacity, earliest due first; records rate-limited starts (at the later of due time and now).
	 */
	claim(nowMs: number, aheadMs: number, limit: number, leaseUntilMs: (sid: number) => number): ClaimedDelivery[] {
		const inFlight = this.store.inFlightBySub();
		const caps = this.capacities(nowMs, inFlight);
		const subs = this.subs();
		const gate = this.keys.gate(nowMs);
		const due = [...caps.entries()]
			.filter(([, c]) => c.free > 0)
			.flatMap(([sid, c]) =>
				this.store.dueOf(sid, nowMs + aheadMs, Math.min(c.free, limit), subs.get(sid)?.config.ordering === "key", gate),
			)
			.sort((a, b) => a.next_at_ms - b.next_at_ms);
		const candidates = gate ? gate.take(due) : due;
		// Webhook attempts claimed beyond the free senders would wait in memory, started in name only
		// (a rate window and a lease counted from the claim): claim no more than can go out.
		let senders = MAX_CONCURRENT_DELIVERIES;
		for (const [sid, n] of inFlight) if (subs.get(sid)?.config.type === "webhook") senders -= n;
		const rows = candidates.filter((r) => subs.get(r.sid)?.config.type !== "webhook" || senders-- > 0).slice(0, limit);
		// A start counts as in flight (in every window) until its attempt ends: `settle` dates it then.
		const starts = new Map<number, number[]>();
		for (const r of rows) {
			if (!subs.get(r.sid)?.config.rate) continue;
			const list = starts.get(r.sid) ?? [];
			list.push(STARTED_IN_FLIGHT);
			starts.set(r.sid, list);
		}
		for (const [sid, list] of starts) {
			const periodMs = subs.get(sid)?.config.rate?.periodMs ?? 0;
			this.store.recordStarts(sid, list, rateWindowStart(nowMs, periodMs));
		}
		if (gate) this.keys.recordStarts(rows, STARTED_IN_FLIGHT);
		const claimed = this.store.mark(rows, leaseUntilMs, nowMs);
		for (const c of claimed) {
			const rate = subs.get(c.sid)?.config.rate !== undefined;
			if (gate || rate) this.startsInFlight.put(attemptKey(c), { rate });
		}
		return claimed;
	}

	/**
	 * When something is next claimable: the earliest due delivery of a subscription with capacity,
	 * the time a rate-held one may start again, or a lease's end; null when nothing is pending. A
	 * subscription held by isolation or parallelism waits for one of its attempts to end, which
	 * the running dispatcher sees.
	 */
	nextAtMs(nowMs: number, aheadMs: number): number | null {
		const earliestDue = this.store.earliestDueBySub();
		const caps = this.capacities(nowMs, undefined, earliestDue);
		const times: number[] = [];
		const subs = this.subs();
		const gate = this.keys.gate(nowMs);
		if (gate?.freeAtMs) times.push(gate.freeAtMs);
		for (const [sid, earliest] of earliestDue) {
			const c = caps.get(sid);
			if (!c) continue;
			// An ordered subscription's earliest delivery may wait behind its key's head (a retry), and
			// a delivery of a limited key for the key's limits.
			const ordered = subs.get(sid)?.config.ordering === "key";
			const due = ordered || gate ? this.store.earliestGatedDue(sid, ordered, gate) : earliest;
			if (due === null) continue;
			if (c.free > 0) times.push(due - aheadMs);
			else if (c.freeAtMs !== null) times.push(Math.max(due - aheadMs, c.freeAtMs));
		}
		const lease = this.store.earliestLeaseEnd();
		if (lease !== null) times.push(lease);
		return times.length === 0 ? null : Math.min(...times);
	}

	/**
	 * Dates the starts of ended attempts of rate-limited subscriptions: at the answer (a delivered
	 * record's time), else when recorded. Later than the request left, so windows counted from them
	 * never hold more than the limit at the receiver.
	 */
	settle(records: readonly AttemptRecord[], nowMs: number): void {
		for (const r of records) this.dateStart(r, r.kind === "delivered" ? r.atMs : nowMs);
	}

	/**
	 * Dates the starts of attempts whose lease ended without an outcome (its record was lost: a failed
	 * transaction). Without this they would count as in flight, in every window, until a restart.
	 */
	leasesExpired(leases: readonly { mid: number; sid: number; lease: number }[], nowMs: number): void {
		for (const l of leases) this.dateStart(l, nowMs);
	}

	/** Dates the start recorded for the claim `c`, if it is still in flight. */
	private dateStart(c: { mid: number; sid: number; lease: number }, atMs: number): void {
		const recorded = this.startsInFlight.take(attemptKey(c));
		if (!recorded) return;
		this.keys.settle(c.mid, atMs);
		// Also when the subscription's rate was removed meanwhile: set again, it would count the start.
		if (recorded.rate) this.store.dateStart(c.sid, STARTED_IN_FLIGHT, atMs);
	}

	/** A storage transaction that claimed or dated starts ended (committed, or rolled back). */
	afterTransaction(committed: boolean): void {
		this.startsInFlight.settle(committed);
	}

	/** The topic's storage was wiped: no claim of it is in flight any more. */
	forget(): void {
		this.startsInFlight.clear();
	}

	/** Deliveries due now that a limit holds back, by subscription and limit (for the subscription view). */
	heldBack(nowMs: number): Map<number, { heldBy: HeldBy; count: number }> {
		const out = new Map<number, { heldBy: HeldBy; count: number }>();
		if (!this.active()) return out;
		for (const [sid, c] of this.capacities(nowMs)) {
			if (c.free > 0 || c.heldBy === null) continue;
			const count = this.store.dueCount(sid, nowMs);
			if (count > 0) out.set(sid, { heldBy: c.heldBy, count });
		}
		return out;
	}
}
