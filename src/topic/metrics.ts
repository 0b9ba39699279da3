/**
 * What a topic measures of its attempts (README "Metrics and logs"): each attempt's lateness in
 * fixed buckets and attempts by outcome, per subscription, cumulative since the subscription was
 * created. Pure: the SQL is in store-metrics.ts.
 */

/**
 * Upper bounds (inclusive, ms) of the lateness buckets; a 16th bucket holds what is later than the
 * last. Fixed: stored bucket numbers index this list, so it may only ever grow at its end.
 */
export const LATENESS_BOUNDS_MS: readonly number[] = [
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];
/** Buckets in all: one per bound and one for later than the last. */
export const LATENESS_BUCKETS = LATENESS_BOUNDS_MS.length + 1;

/** The bucket of a lateness: the first whose bound it does not exceed (early counts as 0 ms late). */
export function latenessBucket(lateMs: number): number {
	for (let i = 0; i < LATENESS_BOUNDS_MS.length; i++) {
		if (lateMs <= (LATENESS_BOUNDS_MS[i] as number)) return i;
	}
	return LATENESS_BOUNDS_MS.length;
}

/** How an attempt ended: the outcome counters' keys. */
export type AttemptOutcome = "delivered" | "retry" | "dead";
export const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ["delivered", "retry", "dead"];

/** A subscription's lateness histogram: per-bucket counts (not cumulative) and the summed lateness. */
export interface LatenessHistogram {
	/** LATENESS_BUCKETS counts; the last is for lateness over the last bound. */
	counts: number[];
	sumMs: number;
}

/** Delivery states the metrics report (a cancelled delivery is of no interest to them). */
export interface MetricCounts {
	scheduled: number;
	in_flight: number;
	delivered: number;
	dead: number;
}

/** One subscription's metrics, in one partition or summed over a topic's partitions. */
export interface SubscriptionMetrics {
	name: string;
	/** Deliveries by state now. */
	counts: MetricCounts;
	/** How late the oldest due, undelivered delivery is (0 when none); over partitions, the worst. */
	oldestDueLagMs: number;
	lateness: LatenessHistogram;
	/** Attempts ended, by outcome. */
	attempts: Record<AttemptOutcome, number>;
}

/** A topic's metrics: partition 0's subscriptions (in name order), summed over its partitions. */
export interface TopicMetrics {
	topic: string;
	partitions: number;
	/** Messages stored now. */
	messages: number;
	/** Messages ever published (stored; a duplicate id refused is not), cumulative. */
	published: number;
	subscriptions: SubscriptionMetrics[];
}

/** An empty histogram. */
export const emptyLateness = (): LatenessHistogram => ({ counts: Array(LATENESS_BUCKETS).fill(0), sumMs: 0 });

/** An empty outcome tally. */
export const noAttempts = (): Record<AttemptOutcome, number> => ({ delivered: 0, retry: 0, dead: 0 });

/** Adds `add` into `into` (another partition's metrics of the same subscription). */
export function addSubscriptionMetrics(into: SubscriptionMetrics, add: SubscriptionMetrics): void {
	for (const k of Object.keys(into.counts) as (keyof MetricCounts)[]) into.counts[k] += add.counts[k];
	into.oldestDueLagMs = Math.max(into.oldestDueLagMs, add.oldestDueLagMs);
	into.lateness.counts = into.lateness.counts.map((n, i) => n + (add.lateness.counts[i] ?? 0));
	into.lateness.sumMs += add.lateness.sumMs;
	for (const o of ATTEMPT_OUTCOMES) into.attempts[o] += add.attempts[o];
}

/**
 * Sums the partitions' lists: the subscriptions partition 0 lists (the first list), each with what
 * every other partition has of the same name.
 */
export function mergeSubscriptionMetrics(perPartition: SubscriptionMetrics[][]): SubscriptionMetrics[] {
	const [first = [], ...rest] = perPartition;
	const byName = rest.map((list) => new Map(list.map((s) => [s.name, s])));
	return first.map((s) => {
		const merged: SubscriptionMetrics = {
			...s,
			counts: { ...s.counts },
			lateness: { counts: [...s.lateness.counts], sumMs: s.lateness.sumMs },
			attempts: { ...s.attempts },
		};
		for (const names of byName) {
			const other = names.get(s.name);
			if (other) addSubscriptionMetrics(merged, other);
		}
		return merged;
	});
}
