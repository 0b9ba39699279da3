import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { dlqId, qstashMessageId, readDlqId } from "../../delivery/qstash-ids";
import { AppError, NotFound } from "../../errors";
import { newMessageId } from "../../message-id";
import { topicClient } from "../../topic/client";
import { publishToSystemTopic, SYSTEM_TOPIC } from "../../topic/client/system-topic";
import { noFilter } from "../../topic/qstash-scan";
import type { DeliveryOptions, NewMessage } from "../../topic/types";
import { authorize } from "../auth";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { qstashMessage } from "./messages";
import { readPublish } from "./publish-request";
import {
	eachLimited,
	filterQuery,
	mergedPage,
	parseScanQuery,
	repeated,
	type ScanQuery,
	type SourcedRow,
} from "./scan";
import { documentRoute, qstashErrors } from "./shared";

type Env = HonoEnv["Bindings"];

/**
 * The dead-letter queue of `/v2` (QSTASH.md "Dead-letter queue"): every dead delivery of a `/v2`
 * message, to a URL (the system topic) or to a URL group's endpoint (the group's topic), newest
 * death first, with the last failed answer.
 */
const DlqParams = z.object({ dlqId: z.string().regex(/^dlq_[A-Za-z0-9_-]{1,1000}$/, "not a dlqId") });
/** Filters of the DLQ besides the common ones. */
const DLQ_FILTERS = ["dlqIds", "messageId", "responseStatus"] as const;

const notFound = (id: string) => new NotFound("dlq_not_found", `DLQ message ${id} not found`);

const FilterQuery = filterQuery({
	dlqIds: repeated(),
	messageId: z.string().optional(),
	responseStatus: z.string().optional().openapi({ description: "the last attempt's status" }),
});

/** QSTASH.md's `DlqMessage`: the message, its dlqId and the last failed answer. */
function dlqMessage(row: SourcedRow) {
	const m = row.message;
	const messageId = qstashMessageId(row.options.topicName, row.id, row.subscription);
	const r = row.response ?? null;
	return {
		...qstashMessage(
			messageId,
			{
				options: row.options,
				headers: m?.headers ?? {},
				body: m?.body ?? "",
				deliverAtMs: m?.deliverAtMs ?? 0,
				publishedAtMs: row.publishedAtMs,
			},
			row.url,
		),
		dlqId: dlqId(row.topic, row.id, row.subscription),
		...(row.status !== null ? { responseStatus: row.status } : {}),
		...(r ? { responseHeader: r.header } : {}),
		...(r?.body !== undefined ? { responseBody: r.body } : {}),
		...(r?.bodyBase64 !== undefined ? { responseBodyBase64: r.bodyBase64 } : {}),
	};
}

/** The query of one dlqId. */
function byId(id: string): ScanQuery | null {
	const ref = readDlqId(id);
	if (!ref) return null;
	return {
		filter: noFilter(),
		topics: [ref.topic],
		refs: new Map([[ref.topic, [{ id: ref.id, subscription: ref.subscription }]]]),
		none: false,
		count: 1,
		cursorMs: null,
	};
}

async function findOne(env: Env, id: string): Promise<SourcedRow> {
	const q = byId(id);
	const row = q ? (await mergedPage(env, "dead", q)).rows[0] : undefined;
	if (!row) throw notFound(id);
	return row;
}

/** Removes dead entries, one call per (topic, subscription); returns how many went. */
async function remove(env: Env, rows: readonly SourcedRow[]): Promise<number> {
	const groups = new Map<string, { topic: string; subscription: string; ids: string[] }>();
	for (const r of rows) {
		const key = JSON.stringify([r.topic, r.subscription]);
		const g = groups.get(key) ?? { topic: r.topic, subscription: r.subscription, ids: [] };
		g.ids.push(r.id);
		groups.set(key, g);
	}
	const purged = await eachLimited([...groups.values()], async (g) => {
		try {
			return (await topicClient(env, g.topic).messages.purgeDead(g.subscription, g.ids)).purged;
		} catch (error) {
			if (error instanceof AppError && ["topic_not_found", "subscription_not_found"].includes(error.code)) return 0;
			throw error;
		}
	});
	return purged.reduce((a, b) => a + b, 0);
}

/** What `Upstash-*` headers on a retry request change (QSTASH.md: they override the original's). */
function overrides(
	headers: Headers,
): (o: DeliveryOptions, dueMs: number) => { options: DeliveryOptions; dueMs: number } {
	const nowMs = Date.now();
	const read = readPublish({ kind: "url", url: "https://retry.invalid/" }, headers, new Headers(), nowMs);
	const has = (name: string) => headers.has(name);
	return (o, dueMs) => ({
		options: {
			...o,
			...(has("upstash-method") ? { method: read.method } : {}),
			...(has("upstash-retries") ? { retries: read.retries } : {}),
			...(has("upstash-retry-delay") ? { retryDelay: read.retryDelay } : {}),
			...(has("upstash-timeout") ? { timeoutMs: read.timeoutMs } : {}),
		},
		dueMs: has("upstash-delay") || has("upstash-not-before") ? read.deliverAtMs : dueMs,
	});
}

/**
 * Publishes a dead entry again as a new message to the same destination (a group endpoint's entry
 * goes to that endpoint's URL alone), due now unless overridden; then removes the entry.
 */
async function retry(env: Env, row: SourcedRow, change: ReturnType<typeof overrides>): Promise<string> {
	const m = row.message;
	if (!m) throw new AppError(503, "dlq_unavailable", "the dead message could not be read; repeat the request");
	const nowMs = Date.now();
	const { options, dueMs } = change({ ...row.options, url: row.url, topicName: null }, nowMs);
	const message: NewMessage = {
		id: newMessageId(nowMs),
		body: m.body,
		contentType: m.contentType,
		headers: m.headers,
		requestId: null,
		deliverAtMs: dueMs,
		options,
	};
	const result = await publishToSystemTopic(env, message);
	if ("error" in result) throw new AppError(503, result.error.code, result.error.message);
	await remove(env, [row]);
	return result.id;
}

export function dlqRoutes(app: OpenAPIHono<HonoEnv>): void {
	documentRoute(app, {
		method: "get",
		path: "/v2/dlq",
		scope: "read",
		summary: "Dead messages, newest death first; filters as QSTASH.md; `cursor` is absent on the last page",
		query: FilterQuery,
		ok: {
			200: {
				description: "one page",
				schema: z.object({ messages: z.array(z.any()), cursor: z.string().optional() }),
			},
		},
		errors: [400, 401, 503],
	});
	app.get("/v2/dlq", async (c) => {
		authorize(c, "read", SYSTEM_TOPIC);
		const q = parseScanQuery(c.req.url, DLQ_FILTERS, { count: 100, maxCount: 100 });
		const page = await mergedPage(c.env, "dead", q);
		const messages = page.rows.map(dlqMessage);
		return c.json(page.cursor ? { messages, cursor: page.cursor } : { messages });
	});

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/dlq/{dlqId}",
			scope: "read",
			tag: "qstash",
			summary: "One dead message",
			params: DlqParams,
			responses: { 200: { description: "the DLQ message", schema: z.any() }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params }) => c.json(dlqMessage(await findOne(c.env, params.dlqId))),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v2/dlq/{dlqId}",
			scope: "admin",
			tag: "qstash",
			summary: "Delete one dead message",
			params: DlqParams,
			responses: {
				200: { description: "deleted", schema: z.object({ deleted: z.number() }) },
				...qstashErrors(400, 401, 404, 503),
			},
		},
		async (c, { params }) => {
			const deleted = await remove(c.env, [await findOne(c.env, params.dlqId)]);
			if (deleted === 0) throw notFound(params.dlqId);
			return c.json({ deleted });
		},
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v2/dlq/retry/{dlqId}",
			scope: "admin",
			tag: "qstash",
			summary: "Publish a dead message again as a new message, due now; the entry is removed",
			params: DlqParams,
			responses: {
				200: { description: "the new message", schema: z.object({ messageId: z.string() }) },
				...qstashErrors(400, 401, 404, 501, 503),
			},
		},
		async (c, { params }) => {
			const change = overrides(c.req.raw.headers);
			return c.json({ messageId: await retry(c.env, await findOne(c.env, params.dlqId), change) });
		},
	);

	for (const [method, path, summary] of [
		[
			"delete",
			"/v2/dlq",
			"Delete up to `count` (default 100) dead messages: by `dlqIds`, by filters, or all; `cursor` while more remain",
		],
		[
			"post",
			"/v2/dlq/retry",
			"Publish again up to `count` (default 100) dead messages: by `dlqIds`, by filters, or all; `cursor` while more remain",
		],
	] as const) {
		documentRoute(app, {
			method,
			path,
			scope: "admin",
			summary,
			query: FilterQuery,
			ok: { 200: { description: "done", schema: z.any() } },
			errors: [400, 401, 503],
		});
	}

	app.delete("/v2/dlq", async (c) => {
		authorize(c, "admin", SYSTEM_TOPIC);
		const q = parseScanQuery(c.req.url, DLQ_FILTERS, { count: 100, maxCount: 1000 });
		const page = await mergedPage(c.env, "dead", q, true);
		const deleted = await remove(c.env, page.rows);
		return c.json(page.cursor ? { deleted, cursor: page.cursor } : { deleted });
	});

	app.post("/v2/dlq/retry", async (c) => {
		authorize(c, "admin", SYSTEM_TOPIC);
		const change = overrides(c.req.raw.headers);
		const q = parseScanQuery(c.req.url, DLQ_FILTERS, { count: 100, maxCount: 1000 });
		const page = await mergedPage(c.env, "dead", q, true);
		const responses = await eachLimited(page.rows, async (row) => ({ messageId: await retry(c.env, row, change) }));
		return c.json(page.cursor ? { responses, cursor: page.cursor } : { responses });
	});
}
