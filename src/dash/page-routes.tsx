/** The dashboard's pages (GET): topics, a topic, a message, a subscription's dead letters. */
import { z } from "@hono/zod-openapi";
import type { Context, Hono } from "hono";
import { mapBounded } from "../concurrency";
import { InvalidRequest } from "../errors";
import { NAME_PATTERN, Name, validate } from "../validation";
import { apiCall, apiOk, topicPath } from "./api";
import { type Dead, DeadPage } from "./pages/dead";
import { asLateness } from "./pages/lateness";
import { type Message, MessagePage } from "./pages/message";
import type { Schedule } from "./pages/schedules";
import type { Subscription } from "./pages/subscriptions";
import { type Topic, TopicPage } from "./pages/topic";
import { type TopicRow, TopicsPage } from "./pages/topics";
import { may, render, viewerOf } from "./render";
import { TOTALS_MAX_TOPICS } from "./totals";
import type { DashEnv } from "./types";

/** Topics per page of the list (each costs two API calls); the rates' script asks for their totals in one request. */
const TOPICS_PER_PAGE = TOTALS_MAX_TOPICS;
/** Dead letters shown per subscription on the topic page. */
const DEAD_ON_TOPIC_PAGE = 10;

const TopicParams = z.object({ topic: Name });
const SubParams = z.object({ topic: Name, name: Name });
const PageQuery = z.object({ cursor: z.string().max(512).optional() });

type DeadList = { dead: Dead[]; next_cursor: string | null };

/** `?cursor=` for an API list, when given. */
const cursorQuery = (cursor: string | undefined) => (cursor ? `&${new URLSearchParams({ cursor })}` : "");

/** The notice an action's redirect asks for (fixed texts; the values were checked). */
function noticeOf(c: Context<DashEnv>): string | null {
	const q = c.req.query();
	const name = q.name && NAME_PATTERN.test(q.name) ? q.name : null;
	const n = q.n && /^\d{1,9}$/.test(q.n) ? q.n : null;
	switch (q.done) {
		case "published":
			return name ? `Published message ${name}.` : null;
		case "redriven":
			return n ? `Redriven: ${n} scheduled again now.` : null;
		case "purged":
			return n ? `Purged ${n} dead letters.` : null;
		case "paused":
			return name ? `Paused schedule ${name}.` : null;
		case "resumed":
			return name ? `Resumed schedule ${name}.` : null;
		default:
			return null;
	}
}

/** One row of the topics list, or null when the topic went away meanwhile. */
async function topicRow(c: Context<DashEnv>, name: string): Promise<TopicRow | null> {
	const [topic, subs] = await Promise.all([
		apiCall<Topic>(c, "GET", topicPath(name)),
		apiCall<{ subscriptions: Subscription[] }>(c, "GET", topicPath(name, "subscriptions")),
	]);
	const readAtMs = Date.now();
	if (topic.status !== 200 || topic.body === null) return null;
	const lags = subs.status === 200 && subs.body ? subs.body.subscriptions.map((s) => s.oldest_due_lag_ms) : [];
	return {
		name,
		partitions: topic.body.partitions,
		subscriptions: topic.body.subscriptions,
		counts: topic.body.counts,
		lagMs: Math.max(0, ...lags),
		publishedTotal: topic.body.published_total,
		deliveredTotal: topic.body.delivered_total,
		readAtMs,
	};
}

/** GET /dash, /dash/topics/{topic}, /dash/topics/{topic}/subscriptions/{name}/dead, /dash/message. */
export function pageRoutes(dash: Hono<DashEnv>): void {
	dash.get("/", async (c) => {
		const { cursor } = validate(PageQuery, c.req.query(), "query parameter");
		const page = await apiOk<{ topics: { name: string }[]; next_cursor: string | null }>(
			c,
			"GET",
			`/v1/topics?limit=${TOPICS_PER_PAGE}${cursorQuery(cursor)}`,
		);
		const rows = await mapBounded(page.topics, 4, (t) => topicRow(c, t.name));
		const topics = rows.filter((r): r is TopicRow => r !== null);
		return render(c, <TopicsPage viewer={viewerOf(c)} topics={topics} next={page.next_cursor} />);
	});

	dash.get("/topics/:topic", async (c) => {
		const { topic } = validate(TopicParams, c.req.param(), "path parameter");
		const [described, subs, schedules, lateness] = await Promise.all([
			apiOk<Topic>(c, "GET", topicPath(topic)),
			apiOk<{ subscriptions: Subscription[] }>(c, "GET", topicPath(topic, "subscriptions")),
			apiOk<{ schedules: Schedule[] }>(c, "GET", topicPath(topic, "schedules")),
			apiCall<unknown>(c, "GET", topicPath(topic, "lateness")),
		]);
		const readAtMs = Date.now();
		const dead = await mapBounded(subs.subscriptions, 4, async (s) => {
			if (s.counts.dead === 0) return { subscription: s.name, dead: [], more: false };
			const list = await apiOk<DeadList>(
				c,
				"GET",
				`${topicPath(topic, "subscriptions", s.name, "dead")}?limit=${DEAD_ON_TOPIC_PAGE}`,
			);
			return { subscription: s.name, dead: list.dead, more: list.next_cursor !== null };
		});
		const principal = c.get("principal");
		const data = {
			topic: described,
			subscriptions: subs.subscriptions,
			schedules: schedules.schedules,
			lateness: lateness.status === 200 ? asLateness(lateness.body) : null,
			dead,
			notice: noticeOf(c),
			readAtMs,
		};
		return render(
			c,
			<TopicPage
				viewer={viewerOf(c)}
				data={data}
				canPublish={may(principal, "publish", topic)}
				canAdmin={may(principal, "admin", topic)}
			/>,
		);
	});

	dash.get("/topics/:topic/subscriptions/:name/dead", async (c) => {
		const { topic, name } = validate(SubParams, c.req.param(), "path parameter");
		const { cursor } = validate(PageQuery, c.req.query(), "query parameter");
		const list = await apiOk<DeadList>(
			c,
			"GET",
			`${topicPath(topic, "subscriptions", name, "dead")}?limit=100${cursorQuery(cursor)}`,
		);
		return render(
			c,
			<DeadPage
				viewer={viewerOf(c)}
				topic={topic}
				subscription={name}
				dead={list.dead}
				next={list.next_cursor}
				canAdmin={may(c.get("principal"), "admin", topic)}
			/>,
		);
	});

	dash.get("/message", async (c) => {
		const topic = c.req.query("topic") ?? "";
		const id = c.req.query("id") ?? "";
		const issues = [
			...(NAME_PATTERN.test(topic) ? [] : [{ path: "topic", message: `"${topic}" is not a topic name` }]),
			...(NAME_PATTERN.test(id) ? [] : [{ path: "id", message: `"${id}" is not a message id` }]),
		];
		if (issues.length > 0) {
			throw new InvalidRequest(`no message can be found by ${issues.map((i) => i.message).join(" and ")}`, issues);
		}
		const message = await apiOk<Message>(c, "GET", topicPath(topic, "messages", id));
		return render(c, <MessagePage viewer={viewerOf(c)} topic={topic} message={message} />);
	});
}
