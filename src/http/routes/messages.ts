import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { getConfig } from "../../config";
import { publishBatch, publishReply } from "../../publish/batch";
import { normalizeMessage, PublishItem } from "../../publish/normalize";
import { topicClient } from "../../topic/client";
import { Name } from "../../validation";
import { endpoint } from "../endpoint";
import { errors } from "../schemas";
import type { HonoEnv } from "../types";
import { MessageSchema, messageJson, PublishResultSchema } from "../views";

const TopicParams = z.object({ topic: Name });
const MessageParams = z.object({ topic: Name, id: Name });

const BatchResultSchema = z
	.object({
		results: z.array(
			z.union([
				PublishResultSchema,
				z.object({
					id: z.string().optional().openapi({ description: "the id it was routed with, when its partition failed" }),
					error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.any()).optional() }),
				}),
			]),
		),
	})
	.openapi("BatchResult");

/** Publishing and inspecting messages. */
export function messageRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/messages",
			scope: "publish",
			tag: "Messages",
			summary: "Publish one message",
			description:
				"`delay` and `deliver_at` are exclusive; neither means now. A repeated `id` answers 200 with `duplicate: true` and the original `deliver_at`.",
			params: TopicParams,
			body: z.unknown(),
			docBody: PublishItem,
			responses: {
				200: { description: "duplicate: already published", schema: PublishResultSchema },
				201: { description: "scheduled", schema: PublishResultSchema },
				...errors(400, 401, 404, 409, 413, 415),
			},
		},
		async (c, { params, body }) => {
			const message = normalizeMessage(body, getConfig(c.env), Date.now());
			const result = await topicClient(c.env, params.topic).messages.publishOne(message);
			return c.json(publishReply(result), result.duplicate ? 200 : 201);
		},
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/messages/batch",
			scope: "publish",
			tag: "Messages",
			summary: "Publish up to 1000 messages",
			description:
				"One result per item, in order. An invalid item gets an `error` result and does not stop the others; an `id` repeated within the batch or seen before is a duplicate carrying the original `deliver_at`, or, with another `key` (or none), an `id_conflict` error result.",
			params: TopicParams,
			body: z.array(z.unknown()),
			docBody: z.array(PublishItem),
			responses: {
				200: { description: "per-item results", schema: BatchResultSchema },
				...errors(400, 401, 404, 409, 413, 415),
			},
		},
		async (c, { params, body }) => {
			const results = await publishBatch(c.env, params.topic, body);
			return c.json({ results });
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/messages/{id}",
			scope: "read",
			tag: "Messages",
			summary: "A message with its per-subscription deliveries",
			params: MessageParams,
			responses: { 200: { description: "the message", schema: MessageSchema }, ...errors(400, 401, 404) },
		},
		async (c, { params }) => c.json(messageJson(await topicClient(c.env, params.topic).messages.get(params.id))),
	);
}
