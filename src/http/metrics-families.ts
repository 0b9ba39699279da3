import { ATTEMPT_OUTCOMES, LATENESS_BOUNDS_MS, type MetricCounts, type TopicMetrics } from "../topic/metrics";
import type { Family, Sample } from "./exposition";

/** How a scrape went, reported beside the topics' metrics. */
export interface ScrapeFacts {
	/** Topics the token reaches beyond the cap (SUNDIAL_METRICS_MAX_TOPICS): left out of this scrape. */
	truncated: boolean;
	/** Topics that did not answer (a partition unavailable): left out of this scrape. */
	errors: number;
	durationMs: number;
}

const STATES: readonly (keyof MetricCounts)[] = ["scheduled", "in_flight", "delivered", "dead"];

/** `le` of each lateness bucket, in seconds (Prometheus's base unit), the last `+Inf`. */
const LE = [...LATENESS_BOUNDS_MS.map((ms) => String(ms / 1000)), "+Inf"];

/** Sundial's metric families for these topics (README "Metrics and logs" lists them). */
export function metricFamilies(topics: readonly TopicMetrics[], facts: ScrapeFacts): Family[] {
	const deliveries: Sample[] = [];
	const attempts: Sample[] = [];
	const lateness: Sample[] = [];
	const lag: Sample[] = [];
	const messages: Sample[] = [];
	const published: Sample[] = [];
	const partitions: Sample[] = [];
	for (const t of topics) {
		messages.push({ labels: { topic: t.topic }, value: t.messages });
		published.push({ suffix: "_total", labels: { topic: t.topic }, value: t.published });
		partitions.push({ labels: { topic: t.topic }, value: t.partitions });
		for (const s of t.subscriptions) {
			const labels = { topic: t.topic, subscription: s.name };
			for (const state of STATES) deliveries.push({ labels: { ...labels, state }, value: s.counts[state] });
			for (const outcome of ATTEMPT_OUTCOMES) {
				attempts.push({ suffix: "_total", labels: { ...labels, outcome }, value: s.attempts[outcome] });
			}
			let cumulative = 0;
			s.lateness.counts.forEach((n, i) => {
				cumulative += n;
				lateness.push({ suffix: "_bucket", labels: { ...labels, le: LE[i] as string }, value: cumulative });
			});
			lateness.push({ suffix: "_sum", labels, value: s.lateness.sumMs / 1000 });
			lateness.push({ suffix: "_count", labels, value: cumulative });
			lag.push({ labels, value: s.oldestDueLagMs / 1000 });
		}
	}
	const one = (value: number): Sample[] => [{ labels: {}, value }];
	return [
		{
			name: "sundial_deliveries",
			type: "gauge",
			help: "Deliveries (message x subscription) by state now; state=dead are the dead letters.",
			samples: deliveries,
		},
		{
			name: "sundial_attempts",
			type: "counter",
			help: "Delivery attempts ended, by outcome (delivered, retry, dead); outcome=dead counts deliveries that went dead.",
			samples: attempts,
		},
		{
			name: "sundial_delivery_lateness_seconds",
			type: "histogram",
			help: "How long after its due time each push attempt's request left (webhook and queue subscriptions).",
			samples: lateness,
		},
		{
			name: "sundial_oldest_due_lag_seconds",
			type: "gauge",
			help: "How late the oldest due, undelivered delivery is (0 when none): the worst partition's.",
			samples: lag,
		},
		{ name: "sundial_topic_messages", type: "gauge", help: "Messages stored in the topic.", samples: messages },
		{
			name: "sundial_published",
			type: "counter",
			help: "Messages published to the topic (every message stored; a duplicate id refused is not counted).",
			samples: published,
		},
		{ name: "sundial_topic_partitions", type: "gauge", help: "The topic's partitions.", samples: partitions },
		{
			name: "sundial_scrape_topics",
			type: "gauge",
			help: "Topics in this scrape.",
			samples: one(topics.length),
		},
		{
			name: "sundial_scrape_truncated",
			type: "gauge",
			help: "1 when topics the token reaches were left out (SUNDIAL_METRICS_MAX_TOPICS or the scrape's call budget).",
			samples: one(facts.truncated ? 1 : 0),
		},
		{
			name: "sundial_scrape_errors",
			type: "gauge",
			help: "Topics left out of this scrape because a partition did not answer.",
			samples: one(facts.errors),
		},
		{
			name: "sundial_scrape_duration_seconds",
			type: "gauge",
			help: "How long this scrape took to collect.",
			samples: one(facts.durationMs / 1000),
		},
	];
}
