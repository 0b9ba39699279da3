import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../config";
import { getConfig } from "../../config";
import { MAX_KEY_PARALLELISM, queueKey, queueOfKey, readQueueName } from "../../delivery/qstash-flow-control";
import { AppError, InvalidRequest, NotFound } from "../../errors";
import { readAtMost } from "../../streams";
import { topicClient } from "../../topic/client";
import { ensureSystemTopic, SYSTEM_TOPIC } from "../../topic/client/system-topic";
import type { KeyLimitsView } from "../../topic/types";
import { authorize } from "../auth";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { publishOne } from "./publish";
import { bodyTooLarge } from "./publish-request";
import { documentRoute, qstashErrors } from "./shared";

/**
 * QStash queues (QSTASH.md "Flow control, queues and callbacks"): a queue is a key of the system
 * topic with `fifo` limits (key-limits.ts): its messages go in publish order, at most `parallelism`
 * at once, and a message waiting for its retry holds its place.
 */

const ENQUEUE = "/v2/enqueue/";
const QueueParams = z.object({ queue: z.string().openapi({ example: "orders" }) });
const QueueSchema = z
	.object({
		name: z.string(),
		createdAt: z.number(),
		updatedAt: z.number(),
		parallelism: z.number(),
		lag: z.number().openapi({ description: "messages waiting (not in flight)" }),
		paused: z.boolean(),
	})
	.openapi("Queue");
const UpsertBody = z
	.object({
		queueName: z.string(),
		parallelism: z.number().int().min(1).max(MAX_KEY_PARALLELISM).optional(),
		paused: z.boolean().optional(),
	})
	.passthrough();

const queueJson = (name: string, v: KeyLimitsView) => ({
	name,
	createdAt: v.createdAtMs,
	updatedAt: v.updatedAtMs,
	parallelism: v.parallelism ?? 1,
	lag: v.waiting,
	paused: v.paused,
});

const queueNotFound = (name: string) => new NotFound("not_found", `queue "${name}" not found`);
const keys = (env: AppEnv) => topicClient(env, SYSTEM_TOPIC).keys;

/** The queue's view, or null (no system topic yet, or no such queue). */
async function queueView(env: AppEnv, name: string): Promise<KeyLimitsView | null> {
	try {
		const view = await keys(env).get(queueKey(name));
		return view?.fifo ? view : null;
	} catch (error) {
		if (error instanceof AppError && error.code === "topic_not_found") return null;
		throw error;
	}
}

async function setQueue(env: AppEnv, name: string, input: { parallelism?: number; paused?: boolean }): Promise<void> {
	await ensureSystemTopic(env);
	await keys(env).change(queueKey(name), { kind: "put", input, fifo: true });
}

/** `/v2/queues…` and `/v2/enqueue/{queue}/{destination}`. */
export function queueRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "post",
			path: "/v2/queues",
			scope: "admin",
			tag: "qstash",
			summary: "Create or update a queue: parallelism (default 1), paused",
			body: UpsertBody,
			responses: { 200: { description: "upserted", schema: z.object({}) }, ...qstashErrors(400, 401, 503) },
		},
		async (c, { body }) => {
			const name = readQueueName(body.queueName, "queueName");
			await setQueue(c.env, name, { parallelism: body.parallelism ?? 1, paused: body.paused ?? false });
			return c.json({});
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/queues",
			scope: "read",
			tag: "qstash",
			summary: "List queues",
			responses: { 200: { description: "queues", schema: z.array(QueueSchema) }, ...qstashErrors(401, 503) },
		},
		async (c) => {
			const out: ReturnType<typeof queueJson>[] = [];
			let after: string | null = null;
			try {
				do {
					const page: { keys: KeyLimitsView[]; next: string | null } = await keys(c.env).list(after, 1000, true);
					for (const v of page.keys) out.push(queueJson(queueOfKey(v.key) as string, v));
					after = page.next;
				} while (after !== null);
			} catch (error) {
				if (!(error instanceof AppError && error.code === "topic_not_found")) throw error;
			}
			return c.json(out);
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/queues/{queue}",
			scope: "read",
			tag: "qstash",
			summary: "A queue: parallelism, lag, paused",
			params: QueueParams,
			responses: { 200: { description: "the queue", schema: QueueSchema }, ...qstashErrors(401, 404, 503) },
		},
		async (c, { params }) => {
			const view = await queueView(c.env, params.queue);
			if (!view) throw queueNotFound(params.queue);
			return c.json(queueJson(params.queue, view));
		},
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v2/queues/{queue}",
			scope: "admin",
			tag: "qstash",
			summary: "Delete a queue; its waiting messages are cancelled",
			params: QueueParams,
			responses: { 200: { description: "deleted", schema: z.object({}) }, ...qstashErrors(401, 404, 503) },
		},
		async (c, { params }) => {
			if (!(await queueView(c.env, params.queue))) throw queueNotFound(params.queue);
			await keys(c.env).change(queueKey(params.queue), { kind: "remove", cancel: true });
			return c.json({});
		},
	);

	for (const [action, paused] of [
		["pause", true],
		["resume", false],
	] as const) {
		endpoint(
			app,
			{
				method: "post",
				path: `/v2/queues/{queue}/${action}`,
				scope: "admin",
				tag: "qstash",
				summary: paused ? "Pause a queue: nothing of it starts" : "Resume a paused queue",
				params: QueueParams,
				responses: { 200: { description: "done", schema: z.object({}) }, ...qstashErrors(401, 404, 503) },
			},
			async (c, { params }) => {
				if (!(await queueView(c.env, params.queue))) throw queueNotFound(params.queue);
				await setQueue(c.env, params.queue, { paused });
				return c.json({});
			},
		);
	}

	documentRoute(app, {
		method: "post",
		path: "/v2/enqueue/{queue}/{destination}",
		scope: "publish",
		summary: "Enqueue the raw body to a URL through a queue (created with parallelism 1 if new): in order, no delay",
		params: z.object({ queue: z.string(), destination: z.string().openapi({ example: "https://example.com/hook" }) }),
		ok: {
			200: { description: "enqueued", schema: z.object({ messageId: z.string(), url: z.string() }) },
			202: {
				description: "deduplicated: nothing enqueued",
				schema: z.object({ messageId: z.string(), url: z.string(), deduplicated: z.literal(true) }),
			},
		},
		errors: [400, 401, 413, 503],
	});
	app.post("/v2/enqueue/:queue/*", async (c) => {
		authorize(c, "publish", SYSTEM_TOPIC);
		const config = getConfig(c.env);
		// The queue segment and the destination from the raw URL (the destination keeps its own encoding).
		const rest = c.req.url.slice(c.req.url.indexOf(ENQUEUE) + ENQUEUE.length);
		const slash = rest.indexOf("/");
		const rawQueue = slash < 0 ? rest : rest.slice(0, slash);
		let queueName: string;
		try {
			queueName = decodeURIComponent(rawQueue);
		} catch {
			throw new InvalidRequest("queue: not a valid percent-encoded name");
		}
		const queue = readQueueName(queueName, "queue");
		const raw = slash < 0 ? "" : rest.slice(slash + 1);
		const declared = Number(c.req.header("content-length") ?? "0");
		if (declared > config.maxBodyBytes) throw bodyTooLarge(declared, config.maxBodyBytes);
		const bytes = c.req.raw.body ? await readAtMost(c.req.raw.body, config.maxBodyBytes) : new Uint8Array();
		if (!bytes) throw bodyTooLarge(config.maxBodyBytes + 1, config.maxBodyBytes);
		const answer = await publishOne(
			c.env,
			raw,
			c.req.raw.headers,
			bytes,
			c.req.header("cf-connecting-ip") ?? null,
			queue,
		);
		return c.json(answer.body, answer.status);
	});
}
