import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { unwrap } from "../../errors";
import { decodeCursor, encodeCursor } from "../cursor";
import { endpoint } from "../endpoint";
import { Duration, errors, Name, PageQuery } from "../schemas";
import { registryStub, topicStub } from "../stubs";
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
			tag: "Topics",
			summary: "Create or update a topic",
			params: TopicParams,
			body: TopicBody,
			responses: {
				200: { description: "updated", schema: TopicSchema },
				201: { description: "created", schema: TopicSchema },
				...errors(400, 401, 413, 415),
			},
		},
		async (c, { params, body }) => {
			const result = unwrap(
				await topicStub(c.env, params.topic).configure({
					name: params.topic,
					retentionMs: body.retention ?? DEFAULT_RETENTION_MS,
				}),
			);
			await registryStub(c.env).add(params.topic, result.topic.createdAtMs);
			return c.json(topicJson(result.topic), result.created ? 201 : 200);
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics",
			tag: "Topics",
			summary: "List topics",
			query: PageQuery,
			responses: { 200: { description: "one page of topics", schema: TopicListSchema }, ...errors(400, 401) },
		},
		async (c, { query }) => {
			const after = query.cursor ? String(decodeCursor(query.cursor, "topics", "", 1)[0]) : null;
			const page = await registryStub(c.env).list(after, query.limit);
			const last = page.topics.at(-1);
			return c.json({
				topics: page.topics.map(topicEntryJson),
				next_cursor: page.more && last ? encodeCursor("topics", "", [last.name]) : null,
			});
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}",
			tag: "Topics",
			summary: "Topic configuration and totals",
			params: TopicParams,
			responses: { 200: { description: "the topic", schema: TopicSchema }, ...errors(400, 401, 404) },
		},
		async (c, { params }) => c.json(topicJson(unwrap(await topicStub(c.env, params.topic).describe()))),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/topics/{topic}",
			tag: "Topics",
			summary: "Delete a topic and everything in it",
			params: TopicParams,
			responses: {
				200: { description: "deleted", schema: z.object({ name: z.string(), deleted: z.literal(true) }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => {
			const result = await topicStub(c.env, params.topic).destroy();
			// Remove the name even when the object says "not found": heals a half-finished earlier delete.
			await registryStub(c.env).remove(params.topic);
			unwrap(result);
			return c.json({ name: params.topic, deleted: true as const });
		},
	);
}
