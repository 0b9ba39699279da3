import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { NotFound } from "../../errors";
import { registryStub } from "../../registry/client";
import { scheduleStub } from "../../schedule/client";
import { reaches } from "../../tokens/scopes";
import { MAX_PARTITIONS, topicClient } from "../../topic/client";
import { Duration, Name } from "../../validation";
import { decodeCursor, encodeCursor } from "../cursor";
import { endpoint } from "../endpoint";
import { errors, PageQuery } from "../schemas";
import type { HonoEnv } from "../types";
import { TopicListSchema, TopicSchema, topicEntryJson, topicJson } from "../views";

const TopicParams = z.object({ topic: Name });
const DEFAULT_RETENTION_MS = 7 * 86_400_000;
const MAX_RETENTION_MS = 365 * 86_400_000;

const TopicBody = z
	.object({
		retention: Duration.refine((ms) => ms >= 60_000 && ms <= MAX_RETENTION_MS, "retention must be from 1m to 365d")
			.optional()
			.openapi({ description: 'How long finished messages stay queryable. @default "7d"', example: "7d" }),
		partitions: z.number().int().min(1).max(MAX_PARTITIONS).optional().openapi({
			description:
				"1–64 Durable Objects the topic is spread over, fixed for its life (a different count on an existing topic is a 409). @default 1",
			example: 1,
		}),
	})
	.strict()
	.openapi("TopicRequest");

/** Topic routes: create/update, list, describe, delete. */
export function topicRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "put",
			path: "/v1/topics/{topic}",
			scope: "admin",
			tag: "Topics",
			summary: "Create or update a topic",
			description:
				"`partitions` (1–64, default 1) spreads the topic over that many Durable Objects; messages go to partition fnv1a32(id) mod partitions. It is fixed: a different count on an existing topic is a 409 `partitions_fixed`; omitted, the count is kept. An omitted `retention` is the default 7 d again.",
			params: TopicParams,
			body: TopicBody,
			responses: {
				200: { description: "updated", schema: TopicSchema },
				201: { description: "created", schema: TopicSchema },
				...errors(400, 401, 409, 413, 415),
			},
		},
		async (c, { params, body }) => {
			const result = await topicClient(c.env, params.topic).admin.put({
				retentionMs: body.retention ?? DEFAULT_RETENTION_MS,
				partitions: body.partitions ?? null,
			});
			await registryStub(c.env).add(params.topic, result.topic.createdAtMs);
			return c.json(topicJson(result.topic), result.created ? 201 : 200);
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics",
			scope: "read",
			tag: "Topics",
			summary: "List topics",
			query: PageQuery,
			responses: { 200: { description: "one page of topics", schema: TopicListSchema }, ...errors(400, 401) },
		},
		async (c, { query }) => {
			const after = query.cursor ? String(decodeCursor(query.cursor, "topics", "", 1)[0]) : null;
			const page = await registryStub(c.env).list(after, query.limit);
			const last = page.topics.at(-1);
			// A scoped token sees only the topics its patterns reach (pages may come out shorter).
			const principal = c.get("principal");
			return c.json({
				topics: page.topics.filter((t) => reaches(principal, t.name)).map(topicEntryJson),
				next_cursor: page.more && last ? encodeCursor("topics", "", [last.name]) : null,
			});
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}",
			scope: "read",
			tag: "Topics",
			summary: "Topic configuration and totals",
			params: TopicParams,
			responses: { 200: { description: "the topic", schema: TopicSchema }, ...errors(400, 401, 404) },
		},
		async (c, { params }) => c.json(topicJson(await topicClient(c.env, params.topic).admin.describe())),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/topics/{topic}",
			scope: "admin",
			tag: "Topics",
			summary: "Delete a topic and everything in it",
			params: TopicParams,
			responses: {
				200: { description: "deleted", schema: z.object({ name: z.string(), deleted: z.literal(true) }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => {
			const deleted = await topicClient(c.env, params.topic).admin.destroy();
			// Remove the name and schedules even when there was no topic: heals a half-finished earlier delete.
			await scheduleStub(c.env).removeTopic(params.topic);
			await registryStub(c.env).remove(params.topic);
			if (!deleted) throw new NotFound("topic_not_found", "topic not found");
			return c.json({ name: params.topic, deleted: true as const });
		},
	);
}
