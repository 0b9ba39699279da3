import type { SubscriptionRow, TopicStore } from "./store";
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

/** One partition's topic totals over its current subscriptions. */
export function topicView(store: TopicStore, topic: TopicConfig, subs: Map<number, SubscriptionRow>): TopicView {
	const counts = zeroCounts();
	for (const [sid, c] of countsBySid(store)) {
		if (!subs.has(sid)) continue;
		for (const state of Object.keys(counts) as DeliveryState[]) counts[state] += c[state];
	}
	return { ...topic, subscriptions: subs.size, messages: store.messageCount(), counts };
}

/** Subscriptions as one partition shows them: configuration, counts and lag. */
export function subscriptionViews(store: TopicStore, subs: SubscriptionRow[]): SubscriptionView[] {
	const nowMs = Date.now();
	const all = countsBySid(store);
	return subs.map((sub) => {
		const c = all.get(sub.sid) ?? zeroCounts();
		const oldest = store.oldestDueAtMs(sub.sid, nowMs);
		return {
			name: sub.name,
			...sub.config,
			createdAtMs: sub.createdAtMs,
			updatedAtMs: sub.updatedAtMs,
			counts: { scheduled: c.scheduled, in_flight: c.in_flight, delivered: c.delivered, dead: c.dead },
			oldestDueLagMs: oldest === null ? 0 : nowMs - oldest,
		};
	});
}
