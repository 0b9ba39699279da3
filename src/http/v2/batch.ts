import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { getConfig } from "../../config";
import { AppError, TooLarge } from "../../errors";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { publishOne } from "./publish";
import { qstashErrors } from "./shared";

const BatchItem = z
	.object({
		destination: z.string().min(1),
		headers: z.record(z.string(), z.string()).optional(),
		body: z.string().optional(),
		queue: z.string().optional(),
	})
	.passthrough();

/** Items published at once (each is one call to its partition). */
const CONCURRENCY = 8;

/** `POST /v2/batch` (QSTASH.md "Publishing"): ≤ 1000 publishes, one answer per item, in order. */
export function batchRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "post",
			path: "/v2/batch",
			tag: "qstash",
			summary: "Publish up to 1000 messages; one answer per item, in order (an item's error is its own)",
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
			let next = 0;
			const worker = async () => {
				while (next < body.length) {
					const i = next++;
					answers[i] = await publishItem(c.env, body[i], callerIp);
				}
			};
			await Promise.all(Array.from({ length: Math.min(CONCURRENCY, body.length) }, worker));
			return c.json(answers);
		},
	);
}

async function publishItem(env: HonoEnv["Bindings"], raw: unknown, callerIp: string | null): Promise<unknown> {
	const item = BatchItem.safeParse(raw);
	if (!item.success) return { error: "each item is {destination, headers?, body?}" };
	if (item.data.queue !== undefined) return { error: "queues are not supported" };
	let headers: Headers;
	try {
		headers = new Headers(item.data.headers ?? {});
	} catch {
		return { error: "headers: not valid HTTP header names and values" };
	}
	try {
		const bytes = new TextEncoder().encode(item.data.body ?? "");
		return (await publishOne(env, item.data.destination, headers, bytes, callerIp)).body;
	} catch (error) {
		if (error instanceof AppError) return { error: error.message };
		throw error;
	}
}
