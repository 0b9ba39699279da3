import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { type DeliveryRef, dlqId, readDlqId } from "../../delivery/qstash-ids";
import { AppError, InvalidRequest, NotFound } from "../../errors";
import { newMessageId } from "../../publish/normalize";
import { topicClient } from "../../topic/client";
import type { MessageView } from "../../topic/types";
import { decodeCursor, encodeCursor } from "../cursor";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { qstashMessage } from "./messages";
import { documentRoute, qstashErrors } from "./shared";
import { publishToSystemTopic, SYSTEM_TOPIC } from "./system-topic";

type Env = HonoEnv["Bindings"];

/**
 * The dead-letter queue of `/v2` (QSTASH.md "Dead-letter queue"), for messages published to a URL
 * (the system topic's `url` deliveries). Dead deliveries of URL-group endpoints are in the group
 * topic's `/v1` dead list for now.
 */
const SUBSCRIPTION = "url";
const DlqParams = z.object({ dlqId: z.string().regex(/^dlq_[A-Za-z0-9_-]{1,1000}$/, "not a dlqId") });
const MAX_IDS = 100;

const notFound = (id: string) => new NotFound("dlq_not_found", `DLQ message ${id} not found`);

/** Refuses parameters a bulk action would not apply (never wider than asked); returns the dlqIds. */
function bulkIds(url: string): DeliveryRef[] {
	const params = new URL(url).searchParams;
	for (const key of new Set(params.keys())) {
		if (key !== "dlqIds" && key !== "cursor" && key !== "count") {
			throw new InvalidRequest(`filter ${key} is not supported yet; nothing was changed`);
		}
	}
	const ids = params.getAll("dlqIds");
	if (ids.length === 0) throw new InvalidRequest("give dlqIds: acting by filter or on all is not supported yet");
	if (ids.length > MAX_IDS) throw new InvalidRequest(`at most ${MAX_IDS} dlqIds`);
	return ids.map((id) => readDlqId(id)).filter((ref): ref is DeliveryRef => ref !== null);
}

/** A dead `/v2` delivery with its message, or null. */
async function dead(env: Env, ref: DeliveryRef): Promise<MessageView | null> {
	// Only URL publishes have a /v2 DLQ so far (a group endpoint's dead letters are in its topic's /v1 list).
	if (ref.topic !== SYSTEM_TOPIC || ref.subscription !== SUBSCRIPTION) return null;
	try {
		const m = await topicClient(env, ref.topic).messages.get(ref.id);
		const delivery = m.deliveries.find((d) => d.subscription === ref.subscription);
		return m.options && delivery?.state === "dead" ? m : null;
	} catch (error) {
		if (error instanceof AppError && ["topic_not_found", "message_not_found"].includes(error.code)) return null;
		throw error;
	}
}

function dlqMessage(ref: DeliveryRef, m: MessageView) {
	const status = m.deliveries.find((d) => d.subscription === ref.subscription)?.lastStatus ?? null;
	const id = ref.topic === SYSTEM_TOPIC ? m.id : ref.id;
	return {
		...qstashMessage(id, m, m.options?.url ?? ""),
		dlqId: dlqId(ref.topic, ref.id, ref.subscription),
		...(status !== null ? { responseStatus: status } : {}),
	};
}

/** Publishes a dead message again as a new one due now (same destination and settings), then removes the entry. */
async function retry(env: Env, ref: DeliveryRef, m: MessageView): Promise<string> {
	const o = m.options;
	if (!o) throw new Error("not a /v2 message");
	const nowMs = Date.now();
	const message = {
		id: newMessageId(nowMs),
		body: m.body,
		contentType: m.contentType,
		headers: m.headers,
		requestId: null,
		deliverAtMs: nowMs,
		options: o,
	};
	const result = await publishToSystemTopic(env, message);
	if ("error" in result) throw new AppError(503, result.error.code, result.error.message);
	await topicClient(env, ref.topic).messages.purgeDead(ref.subscription, [ref.id]);
	return result.id;
}

export function dlqRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v2/dlq",
			tag: "qstash",
			summary:
				"Dead messages published to a URL; `cursor` is absent on the last page (filters: not supported yet, 400)",
			query: z.object({
				count: z.coerce.number().int().min(1).max(100).optional(),
				cursor: z.string().max(512).optional(),
			}),
			responses: {
				200: {
					description: "one page",
					schema: z.object({ messages: z.array(z.any()), cursor: z.string().optional() }),
				},
				...qstashErrors(400, 401, 503),
			},
		},
		async (c, { query }) => {
			for (const key of Object.keys(c.req.query())) {
				if (!["count", "cursor", "dlqIds"].includes(key))
					throw new InvalidRequest(`filter ${key} is not supported yet`);
			}
			if (c.req.queries("dlqIds")) {
				const found = [];
				for (const ref of bulkIds(c.req.url)) {
					const m = await dead(c.env, ref);
					if (m) found.push(dlqMessage(ref, m));
				}
				return c.json({ messages: found });
			}
			const after = query.cursor ? decodeCursor(query.cursor, "dlq", SYSTEM_TOPIC, 2) : null;
			const client = topicClient(c.env, SYSTEM_TOPIC);
			const page = await client.messages
				.listDead(SUBSCRIPTION, after as [number, number] | null, query.count ?? 100)
				.catch((error: unknown) => {
					if (error instanceof AppError && ["topic_not_found", "subscription_not_found"].includes(error.code))
						return null;
					throw error;
				});
			if (!page) return c.json({ messages: [] });
			const messages = [];
			for (const d of page.dead) {
				const ref = { topic: SYSTEM_TOPIC, id: d.messageId, subscription: SUBSCRIPTION };
				const m = await dead(c.env, ref);
				if (m) messages.push(dlqMessage(ref, m));
			}
			return c.json(page.next ? { messages, cursor: encodeCursor("dlq", SYSTEM_TOPIC, page.next) } : { messages });
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/dlq/{dlqId}",
			tag: "qstash",
			summary: "One dead message",
			params: DlqParams,
			responses: { 200: { description: "the DLQ message", schema: z.any() }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params }) => {
			const ref = readDlqId(params.dlqId);
			const m = ref ? await dead(c.env, ref) : null;
			if (!ref || !m) throw notFound(params.dlqId);
			return c.json(dlqMessage(ref, m));
		},
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v2/dlq/{dlqId}",
			tag: "qstash",
			summary: "Delete one dead message",
			params: DlqParams,
			responses: {
				200: { description: "deleted", schema: z.object({ deleted: z.number() }) },
				...qstashErrors(400, 401, 404, 503),
			},
		},
		async (c, { params }) => {
			const ref = readDlqId(params.dlqId);
			if (!ref || !(await dead(c.env, ref))) throw notFound(params.dlqId);
			const { purged } = await topicClient(c.env, ref.topic).messages.purgeDead(ref.subscription, [ref.id]);
			if (purged === 0) throw notFound(params.dlqId);
			return c.json({ deleted: purged });
		},
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v2/dlq/retry/{dlqId}",
			tag: "qstash",
			summary: "Publish a dead message again as a new message, due now; the entry is removed",
			params: DlqParams,
			responses: {
				200: { description: "the new message", schema: z.object({ messageId: z.string() }) },
				...qstashErrors(400, 401, 404, 503),
			},
		},
		async (c, { params }) => {
			const ref = readDlqId(params.dlqId);
			const m = ref ? await dead(c.env, ref) : null;
			if (!ref || !m) throw notFound(params.dlqId);
			return c.json({ messageId: await retry(c.env, ref, m) });
		},
	);

	for (const [method, path, summary] of [
		["delete", "/v2/dlq", "Delete the dead messages named by repeated `dlqIds` (filters: not supported yet, 400)"],
		[
			"post",
			"/v2/dlq/retry",
			"Publish again the dead messages named by repeated `dlqIds` (filters: not supported yet, 400)",
		],
	] as const) {
		documentRoute(app, {
			method,
			path,
			summary,
			query: z.object({ dlqIds: z.array(z.string()).openapi({ description: "repeat the parameter" }) }),
			ok: { 200: { description: "done", schema: z.any() } },
			errors: [400, 401, 503],
		});
	}

	app.delete("/v2/dlq", async (c) => {
		let deleted = 0;
		for (const ref of bulkIds(c.req.url)) {
			if (!(await dead(c.env, ref))) continue;
			deleted += (await topicClient(c.env, ref.topic).messages.purgeDead(ref.subscription, [ref.id])).purged;
		}
		return c.json({ deleted });
	});

	app.post("/v2/dlq/retry", async (c) => {
		const responses: { messageId: string }[] = [];
		for (const ref of bulkIds(c.req.url)) {
			const m = await dead(c.env, ref);
			if (m) responses.push({ messageId: await retry(c.env, ref, m) });
		}
		return c.json({ responses });
	});
}
