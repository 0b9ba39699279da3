import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError, NotFound } from "../../errors";
import { topicClient } from "../../topic/client";
import type { MessageView } from "../../topic/types";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { qstashErrors } from "./keys";
import { SYSTEM_TOPIC } from "./system-topic";

const MessageParams = z.object({ messageId: z.string().regex(/^msg_[A-Za-z0-9]{1,120}$/, "not a messageId") });
const QstashMessage = z
	.object({
		messageId: z.string(),
		url: z.string(),
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

const notFound = (id: string) => new NotFound("message_not_found", `message ${id} not found`);

/** A `/v2` message that is still pending (scheduled, in flight or waiting for a retry), or null. */
async function pending(env: HonoEnv["Bindings"], id: string): Promise<MessageView | null> {
	try {
		const m = await topicClient(env, SYSTEM_TOPIC).messages.get(id);
		const open = m.deliveries.some((d) => d.state === "scheduled" || d.state === "in_flight");
		return m.options && open ? m : null;
	} catch (error) {
		// Nothing published to a URL yet (no system topic), or no such message.
		if (error instanceof AppError && ["topic_not_found", "message_not_found"].includes(error.code)) return null;
		throw error;
	}
}

/** QSTASH.md's `Message`: fields that do not apply are absent; times in ms. */
function qstashMessage(m: MessageView) {
	const o = m.options;
	if (!o) throw new Error("not a /v2 message");
	return {
		messageId: m.id,
		url: o.url ?? "",
		method: o.method,
		header: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, [v]])),
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
			const m = await pending(c.env, params.messageId);
			if (!m) throw notFound(params.messageId);
			return c.json(qstashMessage(m));
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
			const { cancelled } = await topicClient(c.env, SYSTEM_TOPIC).messages.cancel(params.messageId);
			if (cancelled === 0) throw notFound(params.messageId);
			return c.json({ cancelled });
		},
	);
}
