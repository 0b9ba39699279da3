import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { queueOfKey } from "../../delivery/qstash-flow-control";
import { readGroupMessageId } from "../../delivery/qstash-ids";
import { AppError, NotFound } from "../../errors";
import { topicClient } from "../../topic/client";
import { SYSTEM_TOPIC } from "../../topic/client/system-topic";
import type { MessageView } from "../../topic/types";
import { authorize } from "../auth";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { eachLimited, filterFor, filterQuery, locateMessage, parseScanQuery, repeated, topicsOf } from "./scan";
import { documentRoute, headerLists, qstashErrors } from "./shared";

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
		scheduleId: z.string().optional(),
		callerIP: z.string().optional(),
		labels: z.array(z.string()).optional(),
		queueName: z.string().optional(),
		flowControlKey: z.string().optional(),
		callback: z.string().optional(),
		failureCallback: z.string().optional(),
	})
	.openapi("QstashMessage");

const notFound = (id: string) => new NotFound("message_not_found", `message ${id} not found`);

/**
 * A `/v2` message whose delivery (to the endpoint its id names, for a group) is still pending:
 * scheduled, in flight or waiting for a retry; else null.
 */
async function pending(env: HonoEnv["Bindings"], messageId: string): Promise<{ m: MessageView; url: string } | null> {
	const where = locateMessage(messageId);
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

/** What QStash's `Message` is made of. */
export type MessageParts = Pick<MessageView, "options" | "headers" | "body" | "deliverAtMs" | "publishedAtMs"> & {
	key?: string | null;
};

/** QSTASH.md's `Message`: fields that do not apply are absent; times in ms. */
export function qstashMessage(messageId: string, m: MessageParts, url: string) {
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
		...(o.scheduleId ? { scheduleId: o.scheduleId } : {}),
		...(o.callerIp !== null ? { callerIP: o.callerIp } : {}),
		...(o.callback ? { callback: o.callback.url } : {}),
		...(o.failureCallback ? { failureCallback: o.failureCallback.url } : {}),
		...(o.labels.length > 0 ? { labels: o.labels } : {}),
		...keyFields(m.key ?? null),
	};
}

/** `queueName` or `flowControlKey` of a message's key (a queue's key is its own, qstash-flow-control.ts). */
export function keyFields(key: string | null): { queueName?: string; flowControlKey?: string } {
	if (key === null) return {};
	const queue = queueOfKey(key);
	return queue === null ? { flowControlKey: key } : { queueName: queue };
}

/** `GET` and `DELETE /v2/messages/{messageId}` for messages published to a URL. */
export function messageRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v2/messages/{messageId}",
			scope: "read",
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
			scope: "publish",
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
			const where = locateMessage(params.messageId);
			const { cancelled } = await topicClient(c.env, where.topic).messages.cancel(where.id, where.subscription);
			if (cancelled === 0) throw notFound(params.messageId);
			return c.json({ cancelled });
		},
	);

	documentRoute(app, {
		method: "delete",
		path: "/v2/messages",
		scope: "publish",
		summary:
			"Cancel pending messages: those named by repeated `messageIds`, or every match of the filters, or all of them when none is given",
		query: filterQuery({ messageIds: repeated() }),
		ok: { 200: { description: "cancelled", schema: z.object({ cancelled: z.number() }) } },
		errors: [400, 401, 503],
	});
	app.delete("/v2/messages", async (c) => {
		authorize(c, "publish", SYSTEM_TOPIC);
		// `count` and `cursor` are accepted and ignored: one call cancels every match.
		const q = parseScanQuery(c.req.url, ["messageIds"], { count: 100, maxCount: 1000 });
		const topics = await topicsOf(c.env, q);
		const counts = await eachLimited(topics, (topic) =>
			topicClient(c.env, topic)
				.qstash.cancel(filterFor(q, topic))
				.catch((error: unknown) => {
					if (error instanceof AppError && error.code === "topic_not_found") return 0;
					throw error;
				}),
		);
		return c.json({ cancelled: counts.reduce((a, b) => a + b, 0) });
	});
}
