import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../config";
import { getConfig } from "../../config";
import { AppError } from "../../errors";
import { registryStub } from "../../registry/client";
import { type Principal, reaches } from "../../tokens/scopes";
import { topicClient } from "../../topic/client";
import type { TopicMetrics } from "../../topic/metrics";
import { Name } from "../../validation";
import { endpoint } from "../endpoint";
import { EXPOSITION_CONTENT_TYPES, formatFor, renderExposition } from "../exposition";
import { metricFamilies } from "../metrics-families";
import { errors } from "../schemas";
import type { HonoEnv } from "../types";
import { LatenessSchema, latenessJson } from "../views-metrics";

/** Topics one scrape reads at once (each asks its partitions 8 at a time). */
const SCRAPE_TOPIC_CONCURRENCY = 8;
/**
 * Durable Object calls one scrape may make (a topic costs one plus one per partition): half the
 * platform's 10,000 subrequests per invocation (PLATFORM.md §2), so a scrape of many partitioned
 * topics ends as `truncated` instead of failing part-way. A batch of topics may overrun it by at most
 * SCRAPE_TOPIC_CONCURRENCY × 65 calls.
 */
const SCRAPE_CALL_BUDGET = 5000;
/** Registry pages one scrape reads looking for topics the token reaches (1000 names each). */
const SCRAPE_REGISTRY_PAGES = 20;
const PAGE = 1000;

/** The first `cap` topics the principal reaches, in name order; `truncated` when there are more (or more to look through). */
async function visibleTopics(
	env: AppEnv,
	principal: Principal,
	cap: number,
): Promise<{ names: string[]; truncated: boolean }> {
	const names: string[] = [];
	let after: string | null = null;
	for (let page = 0; page < SCRAPE_REGISTRY_PAGES; page++) {
		const { topics, more }: { topics: { name: string }[]; more: boolean } = await registryStub(env).list(after, PAGE);
		for (const t of topics) {
			if (!reaches(principal, t.name)) continue;
			if (names.length === cap) return { names, truncated: true };
			names.push(t.name);
		}
		if (!more) return { names, truncated: false };
		after = topics.at(-1)?.name ?? null;
	}
	return { names, truncated: true };
}

/** A topic's metrics; `gone` when it was deleted meanwhile, `failed` (with why) when it did not answer. */
async function readTopic(env: AppEnv, name: string): Promise<TopicMetrics | "gone" | { failed: unknown }> {
	try {
		return await topicClient(env, name).metrics.read();
	} catch (error) {
		if (error instanceof AppError && error.code === "topic_not_found") return "gone";
		return { failed: error };
	}
}

/**
 * Reads `names` a batch at a time until `budget` calls are spent (then `truncated`); failures are
 * counted and logged once per scrape, not once per topic.
 */
export async function readTopics(env: AppEnv, names: string[], budget = SCRAPE_CALL_BUDGET) {
	const topics: TopicMetrics[] = [];
	const failed: string[] = [];
	let calls = 0;
	let truncated = false;
	for (let i = 0; i < names.length; i += SCRAPE_TOPIC_CONCURRENCY) {
		if (calls >= budget) {
			truncated = true;
			break;
		}
		const batch = names.slice(i, i + SCRAPE_TOPIC_CONCURRENCY);
		const read = await Promise.all(batch.map((name) => readTopic(env, name)));
		read.forEach((t, k) => {
			calls += 1; // the partition count
			if (t === "gone") return;
			if ("failed" in t) failed.push(batch[k] as string);
			else {
				calls += t.partitions;
				topics.push(t);
			}
		});
	}
	if (failed.length > 0) {
		console.error(`sundial: /metrics could not read ${failed.length} topic(s), e.g. ${failed.slice(0, 5).join(", ")}`);
	}
	return { topics, failed: failed.length, truncated };
}

/** Metrics: a topic's lateness histogram (JSON) and `/metrics` (Prometheus / OpenMetrics text). */
export function metricsRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/lateness",
			scope: "read",
			tag: "Metrics",
			summary: "Lateness histogram and attempt counts per subscription",
			description:
				"How long after its due time each push attempt's request left (first attempts and retries alike, each from its own due time), in fixed buckets, per subscription, summed over partitions; and attempts by outcome. Cumulative since the subscription was created. Pull subscriptions have outcome counts but no lateness.",
			params: z.object({ topic: Name }),
			responses: {
				200: { description: "the histogram per subscription", schema: LatenessSchema },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => c.json(latenessJson(await topicClient(c.env, params.topic).metrics.read())),
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/metrics",
			scope: "read",
			tag: "Metrics",
			summary: "Metrics of every topic the token reaches, for Prometheus",
			description:
				"Prometheus text format 0.0.4, or OpenMetrics 1.0 when `Accept` asks for `application/openmetrics-text`. Covers the first `SUNDIAL_METRICS_MAX_TOPICS` (1000) topics the token reaches, in name order, and stops after about 5,000 Durable Object calls (each topic costs one per partition and one to find its partition count); `sundial_scrape_truncated` says when there are more.",
			responses: {
				200: {
					description: "the metrics",
					schema: z.string().openapi({ example: "# TYPE sundial_deliveries gauge\n" }),
					mediaType: EXPOSITION_CONTENT_TYPES.prometheus,
				},
			},
		},
		async (c) => {
			const startedMs = Date.now();
			const cap = getConfig(c.env).metricsMaxTopics;
			const visible = await visibleTopics(c.env, c.get("principal"), cap);
			const { topics, failed, truncated } = await readTopics(c.env, visible.names);
			const format = formatFor(c.req.header("accept"));
			const families = metricFamilies(topics, {
				truncated: visible.truncated || truncated,
				errors: failed,
				durationMs: Date.now() - startedMs,
			});
			return c.body(renderExposition(families, format), 200, { "content-type": EXPOSITION_CONTENT_TYPES[format] });
		},
	);
}
