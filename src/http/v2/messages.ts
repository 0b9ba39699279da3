import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { readGroupMessageId } from "../../delivery/qstash-ids";
import { AppError, InvalidRequest, NotFound } from "../../errors";
import { topicClient } from "../../topic/client";
import type { MessageView } from "../../topic/types";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { documentRoute, headerLists, qstashErrors } from "./shared";
import { SYSTEM_TOPIC } from "./system-topic";

const MessageParams = z.object({ messageId: z.string().regex(/^msg_[A-Za-z0-9_-]{1,1000}$/, "not a messageId") });
const QstashMessage = z
	.object({
		messageId: z.string(),
		url: z.string(),
		topicName: z.string().optional(),
		endpointName: z.string().optional(),
		method: z.string(),
		header: z.record(z.string(), z.array(z.string())),
		body: z.string().optional(),
		bodyBase64: z.string().optional(),
		maxRetries: z.number(),
		retryDelayExpression: z.string().optional(),
		notBefore: z.number(),
		createdAt: z.number(),
		callerIP: z.string().optional(),
		labels: z.array(z.string()).optional(),
	})
	.openapi("QstashMessage");

/** Most ids one bulk cancel takes. */
const MAX_BULK_IDS = 1000;

const notFound = (id: string) => new NotFound("message_not_found", `message ${id} not found`);

/** Where a messageId points: the system topic's message, or one endpoint of a group's message. */
function locate(messageId: string): { topic: string; id: string; subscription: string | null } {
	const group = readGroupMessageId(messageId);
	return group ?? { topic: SYSTEM_TOPIC, id: messageId, subscription: null };
}

/**
 * A `/v2` message whose delivery (to the endpoint its id names, for a group) is still pending:
 * scheduled, in flight or waiting for a retry; else null.
 */
async function pending(env: HonoEnv["Bindings"], messageId: string): Promise<{ m: MessageView; url: string } | null> {
	const where = locate(messageId);
	try {
		const client = topicClient(env, where.topic);
		const m = await client.messages.get(where.id);
		const open = m.deliveries.some(
			(d) =>
				(where.subscription === null || d.subscription === where.subscription) &&
				(d.state === "scheduled" || d.state === "in_flight"),
		);
		if (!m.options || !open) return null;
		const url =
			where.subscription === null ? m.options.url : (await client.admin.getSubscription(where.subscription)).url;
		return { m, url: url ?? "" };
	} catch (error) {
		// Nothing published there (no topic), no such message or endpoint.
		const gone = ["topic_not_found", "message_not_found", "subscription_not_found"];
		if (error instanceof AppError && gone.includes(error.code)) return null;
		throw error;
	}
}

/** QSTASH.md's `Message`: fields that do not apply are absent; times in ms. */
export function qstashMessage(messageId: string, m: MessageView, url: string) {
	const o = m.options;
	if (!o) throw new Error("not a /v2 message");
	const group = readGroupMessageId(messageId);
	return {
		messageId,
		url,
		...(group ? { topicName: group.topic, endpointName: group.subscription } : {}),
		method: o.method,
		header: headerLists(m.headers),
		...(o.bodyBase64 ? { bodyBase64: m.body } : { body: m.body }),
		maxRetries: o.retries,
		...(o.retryDelay !== null ? { retryDelayExpression: o.retryDelay } : {}),
		notBefore: m.deliverAtMs,
		createdAt: m.publishedAtMs,
		...(o.callerIp !== null ? { callerIP: o.callerIp } : {}),
		...(o.labels.length > 0 ? { labels: o.labels } : {}),
	};
}

/** `GET` and `DELETE /v2/messages/{messageId}` for messages published to a URL. */
export function messageRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v2/messages/{messageId}",
			tag: "qstash",
			summary: "A pending message (scheduled, in flight or waiting for a retry); a finished one is 404",
			params: MessageParams,
			responses: { 200: { description: "the message", schema: QstashMessage }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params }) => {
			const found = await pending(c.env, params.messageId);
			if (!found) throw notFound(params.messageId);
			return c.json(qstashMessage(params.messageId, found.m, found.url));
		},
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v2/messages/{messageId}",
			tag: "qstash",
			summary: "Cancel a pending message; an attempt already in flight may still arrive, no retry follows",
			params: MessageParams,
			responses: {
				200: { description: "cancelled", schema: z.object({ cancelled: z.number() }) },
				...qstashErrors(400, 401, 404, 503),
			},
		},
		async (c, { params }) => {
			if (!(await pending(c.env, params.messageId))) throw notFound(params.messageId);
			const where = locate(params.messageId);
			const { cancelled } = await topicClient(c.env, where.topic).messages.cancel(where.id, where.subscription);
			if (cancelled === 0) throw notFound(params.messageId);
			return c.json({ cancelled });
		},
	);

	documentRoute(app, {
		method: "delete",
		path: "/v2/messages",
		summary: "Cancel the pending messages named by repeated `messageIds` (filters and all: not supported yet, 400)",
		query: z.object({ messageIds: z.array(z.string()).openapi({ description: "repeat the parameter" }) }),
		ok: { 200: { description: "cancelled", schema: z.object({ cancelled: z.number() }) } },
		errors: [400, 401, 503],
	});
	app.delete("/v2/messages", async (c) => {
		const params = new URL(c.req.url).searchParams;
		// A filter Sundial does not apply must never widen a bulk cancel to "all": refuse it.
		for (const key of new Set(params.keys())) {
			if (key !== "messageIds" && key !== "cursor" && key !== "count") {
				throw new InvalidRequest(`filter ${key} is not supported yet; nothing was cancelled`);
			}
		}
		const ids = params.getAll("messageIds");
		if (ids.length === 0) {
			throw new InvalidRequest(
				"give messageIds: cancelling by filter or all is not supported yet; nothing was cancelled",
			);
		}
		if (ids.length > MAX_BULK_IDS) throw new InvalidRequest(`at most ${MAX_BULK_IDS} messageIds`);
		let cancelled = 0;
		for (const id of new Set(ids)) {
			if (!MessageParams.shape.messageId.safeParse(id).success || !(await pending(c.env, id))) continue;
			const where = locate(id);
			cancelled += (await topicClient(c.env, where.topic).messages.cancel(where.id, where.subscription)).cancelled;
		}
		return c.json({ cancelled });
	});
}
