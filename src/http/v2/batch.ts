import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { mapBounded } from "../../concurrency";
import { getConfig } from "../../config";
import { readQueueName } from "../../delivery/qstash-flow-control";
import { AppError, TooLarge } from "../../errors";
import type { PublishResult } from "../../topic/client";
import { publishManyToSystemTopic } from "../../topic/client/system-topic";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { type PreparedPublish, preparePublish, urlAnswer } from "./publish";
import { qstashErrors } from "./shared";

const BatchItem = z
	.object({
		destination: z.string().min(1),
		headers: z.record(z.string(), z.string()).optional(),
		body: z.string().optional(),
		queue: z.string().optional(),
	})
	.passthrough();

/** Items needing their own calls (deduplication, URL groups) published at once. */
const CONCURRENCY = 8;

/** `POST /v2/batch` (QSTASH.md "Publishing"): ≤ 1000 publishes, one answer per item, in order. */
export function batchRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "post",
			path: "/v2/batch",
			scope: "publish",
			tag: "qstash",
			summary: "Publish up to 1000 messages; one answer per item, in order (an item's error is its own)",
			description:
				"Each item's `headers` are those of POST /v2/publish (Upstash-Delay, -Retries, -Callback, -Failure-Callback, …), names case-insensitive.",
			body: z.array(z.unknown()),
			docBody: z.array(BatchItem),
			responses: {
				200: { description: "per-item answers", schema: z.array(z.any()) },
				...qstashErrors(400, 401, 413, 503),
			},
		},
		async (c, { body }) => {
			const max = getConfig(c.env).maxBatchItems;
			if (body.length > max)
				throw new TooLarge("batch_too_large", `a batch holds at most ${max} messages, got ${body.length}`);
			const callerIp = c.req.header("cf-connecting-ip") ?? null;
			const answers: unknown[] = new Array(body.length);
			const prepared = await Promise.all(body.map((raw) => prepareItem(c.env, raw, callerIp)));
			// Items to a URL without deduplication are stored together: one call per partition.
			const plain = prepared.flatMap((p, i) => (p && "kind" in p && p.kind === "plain" ? [{ i, p }] : []));
			const stored = await publishManyToSystemTopic(
				c.env,
				plain.map(({ p }) => p.message),
			);
			plain.forEach(({ i, p }, k) => {
				answers[i] = answerOf(() => urlAnswer(p.url, stored[k] as PublishResult).body);
			});
			await mapBounded(prepared, CONCURRENCY, async (p, i) => {
				if (p && "error" in p) answers[i] = p;
				else if (p?.kind === "other") answers[i] = await answerOfAsync(async () => (await p.run()).body);
			});
			return c.json(answers);
		},
	);
}

/** One item read and checked, or its error answer. */
async function prepareItem(
	env: HonoEnv["Bindings"],
	raw: unknown,
	callerIp: string | null,
): Promise<PreparedPublish | { error: string }> {
	const item = BatchItem.safeParse(raw);
	if (!item.success) return { error: "each item is {destination, headers?, body?}" };
	let headers: Headers;
	try {
		headers = new Headers(item.data.headers ?? {});
	} catch {
		return { error: "headers: not valid HTTP header names and values" };
	}
	const bytes = new TextEncoder().encode(item.data.body ?? "");
	return answerOfAsync(async () => {
		const queue = item.data.queue === undefined ? null : readQueueName(item.data.queue, "queue");
		return preparePublish(env, item.data.destination, headers, bytes, callerIp, queue);
	});
}

/** An item's answer: the value, or `{error}` for an AppError (that item alone fails). */
function answerOf<T>(fn: () => T): T | { error: string } {
	try {
		return fn();
	} catch (error) {
		if (error instanceof AppError) return { error: error.message };
		throw error;
	}
}

async function answerOfAsync<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
	try {
		return await fn();
	} catch (error) {
		if (error instanceof AppError) return { error: error.message };
		throw error;
	}
}
