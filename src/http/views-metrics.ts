import { z } from "@hono/zod-openapi";
import { LATENESS_BOUNDS_MS, LATENESS_BUCKETS, type TopicMetrics } from "../topic/metrics";

export const LatenessSchema = z
	.object({
		topic: z.string(),
		buckets_ms: z.array(z.number()).openapi({
			description: "The buckets' upper bounds in ms (inclusive); `counts` has one more entry, for later than the last",
			example: [...LATENESS_BOUNDS_MS],
		}),
		subscriptions: z.array(
			z.object({
				name: z.string(),
				counts: z.array(z.number().int()).openapi({
					description: `${LATENESS_BUCKETS} attempt counts, one per bucket (not cumulative); the last for over ${LATENESS_BOUNDS_MS.at(-1)} ms`,
				}),
				count: z.number().int().openapi({ description: "attempts measured: the sum of `counts`" }),
				sum_ms: z.number().int().openapi({ description: "their lateness added up, in ms" }),
				attempts: z
					.object({ delivered: z.number().int(), retry: z.number().int(), dead: z.number().int() })
					.openapi({ description: "attempts ended, by outcome (cumulative)" }),
			}),
		),
	})
	.openapi("Lateness");

/** `GET /v1/topics/{topic}/lateness`: the histogram per subscription, summed over partitions. */
export function latenessJson(m: TopicMetrics) {
	return {
		topic: m.topic,
		buckets_ms: [...LATENESS_BOUNDS_MS],
		subscriptions: m.subscriptions.map((s) => ({
			name: s.name,
			counts: s.lateness.counts,
			count: s.lateness.counts.reduce((a, b) => a + b, 0),
			sum_ms: s.lateness.sumMs,
			attempts: s.attempts,
		})),
	};
}
