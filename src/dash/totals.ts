/**
 * GET /dash/topics.json?topic=…&topic=…: the published and delivered totals of the named topics, for
 * the rates the pages' script shows (live-client.ts). JSON read with the session cookie (a browser's
 * script cannot send the token), so it sits behind the session check of routes.tsx like every page;
 * each topic is read through `GET /v1/topics/{topic}` as the session's token, and a topic the token may
 * not read (or that is gone) is left out of the answer.
 */
import { z } from "@hono/zod-openapi";
import type { Context, Hono } from "hono";
import { mapBounded } from "../concurrency";
import { Name, validate } from "../validation";
import { apiCall, topicPath } from "./api";
import type { Topic } from "./pages/topic";
import { may } from "./render";
import type { DashEnv } from "./types";

/** Topics one request may name: a page of the topics list. */
export const TOTALS_MAX_TOPICS = 25;

/** One topic's totals and when they were read (the Worker's clock, epoch ms). */
export interface TopicTotals {
	name: string;
	published_total: number;
	delivered_total: number;
	read_at_ms: number;
}

const TotalsQuery = z.object({ topic: z.array(Name).min(1).max(TOTALS_MAX_TOPICS) });

/** A topic's totals as the session's token reads them; null when it may not read the topic, or there is none. */
async function totalsOf(c: Context<DashEnv>, name: string): Promise<TopicTotals | null> {
	if (!may(c.get("principal"), "read", name)) return null;
	const answer = await apiCall<Topic>(c, "GET", topicPath(name));
	if (answer.status !== 200 || answer.body === null) return null;
	return {
		name,
		published_total: answer.body.published_total,
		delivered_total: answer.body.delivered_total,
		read_at_ms: Date.now(),
	};
}

/** Registers GET /dash/topics.json. */
export function totalsRoute(dash: Hono<DashEnv>): void {
	dash.get("/topics.json", async (c) => {
		const { topic } = validate(TotalsQuery, { topic: c.req.queries("topic") ?? [] }, "query parameter");
		const names = [...new Set(topic)];
		const read = await mapBounded(names, 4, (name) => totalsOf(c, name));
		return c.json({ topics: read.filter((t): t is TopicTotals => t !== null) });
	});
}
