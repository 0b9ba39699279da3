import type { HeldBy } from "./flow";
import { emptyLateness, noAttempts, type SubscriptionMetrics } from "./metrics";
import type { SubscriptionRow, TopicStore } from "./store";
import type { MetricsStore } from "./store-metrics";
import type { DeliveryState, SubscriptionView, TopicConfig, TopicView } from "./types";

/** Every delivery state at zero. */
export const zeroCounts = (): Record<DeliveryState, number> => ({
	scheduled: 0,
	in_flight: 0,
	delivered: 0,
	dead: 0,
	cancelled: 0,
});

/** Delivery counts per subscription, from the trigger-kept counters (no scan). */
function countsBySid(store: TopicStore): Map<number, Record<DeliveryState, number>> {
	const bySid = new Map<number, Record<DeliveryState, number>>();
	for (const row of store.countsBySubscription()) {
		const counts = bySid.get(row.sid) ?? zeroCounts();
		counts[row.state] = row.n;
		bySid.set(row.sid, counts);
	}
	return bySid;
}

/** A subscription's open counts and how late its oldest due delivery is, as both views show them. */
function countsAndLag(
	store: TopicStore,
	all: Map<number, Record<DeliveryState, number>>,
	sid: number,
	nowMs: number,
): Pick<SubscriptionView, "counts" | "oldestDueLagMs"> {
	const c = all.get(sid) ?? zeroCounts();
	const oldest = store.oldestDueAtMs(sid, nowMs);
	return {
		counts: { scheduled: c.scheduled, in_flight: c.in_flight, delivered: c.delivered, dead: c.dead },
		oldestDueLagMs: oldest === null ? 0 : nowMs - oldest,
	};
}

/** One partition's topic totals over its current subscriptions. */
export function topicView(store: TopicStore, topic: TopicConfig, subs: Map<number, SubscriptionRow>): TopicView {
	const counts = zeroCounts();
	for (const [sid, c] of countsBySid(store)) {
		if (!subs.has(sid)) continue;
		for (const state of Object.keys(counts) as DeliveryState[]) counts[state] += c[state];
	}
	let deliveredTotal = 0;
	for (const [sid, a] of store.metrics.attemptsBySid()) if (subs.has(sid)) deliveredTotal += a.delivered;
	return {
		...topic,
		subscriptions: subs.size,
		messages: store.messageCount(),
		counts,
		publishedTotal: store.publishedCount(),
		deliveredTotal,
	};
}

/** Deliveries due now that a limit holds back, by subscription (flow.ts `heldBack`). */
export type HeldBackBySid = Map<number, { heldBy: HeldBy; count: number }>;

/** Subscriptions as one partition shows them: configuration, counts, lag and what limits hold back. */
export function subscriptionViews(
	store: TopicStore,
	subs: SubscriptionRow[],
	held: HeldBackBySid = new Map(),
): SubscriptionView[] {
	const nowMs = Date.now();
	const all = countsBySid(store);
	return subs.map((sub) => ({
		name: sub.name,
		...sub.config,
		createdAtMs: sub.createdAtMs,
		updatedAtMs: sub.updatedAtMs,
		...countsAndLag(store, all, sub.sid, nowMs),
		heldBack: heldBackOf(held.get(sub.sid)),
	}));
}

/** Held-back counts by limit, all limits present. */
export function heldBackOf(h: { heldBy: HeldBy; count: number } | undefined): Record<HeldBy, number> {
	const out = { isolation: 0, parallelism: 0, rate: 0 };
	if (h) out[h.heldBy] = h.count;
	return out;
}

/** One partition's metrics of each subscription (metrics.ts), in name order: no scan, a few small reads. */
export function subscriptionMetrics(
	store: TopicStore,
	metrics: MetricsStore,
	subs: SubscriptionRow[],
): SubscriptionMetrics[] {
	const nowMs = Date.now();
	const counts = countsBySid(store);
	const lateness = metrics.latenessBySid();
	const attempts = metrics.attemptsBySid();
	return [...subs]
		.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
		.map((sub) => ({
			name: sub.name,
			...countsAndLag(store, counts, sub.sid, nowMs),
			lateness: lateness.get(sub.sid) ?? emptyLateness(),
			attempts: attempts.get(sub.sid) ?? noAttempts(),
		}));
}
