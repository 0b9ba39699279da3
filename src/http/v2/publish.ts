import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { toBase64 } from "../../base64";
import { type AppEnv, getConfig } from "../../config";
import { queueKey } from "../../delivery/qstash-flow-control";
import { groupMessageId } from "../../delivery/qstash-ids";
import { checkWebhookUrl } from "../../delivery/url-guard";
import { AppError, InvalidRequest } from "../../errors";
import { newMessageId } from "../../message-id";
import { readAtMost } from "../../streams";
import { type PublishResult, topicClient } from "../../topic/client";
import { publishToSystemTopic, SYSTEM_TOPIC } from "../../topic/client/system-topic";
import type { NewMessage } from "../../topic/types";
import { authorize } from "../auth";
import type { HonoEnv } from "../types";
import { CALLBACK_HEADER_DOCS, readCallbacks } from "./callback-headers";
import { bodyTooLarge, type QstashPublish, readDestination, readPublish } from "./publish-request";
import { documentRoute } from "./shared";

const PREFIX = "/v2/publish/";
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The raw body, kept byte for byte: as text when it is UTF-8, else base64. */
function storedBody(bytes: Uint8Array): { body: string; bodyBase64: boolean } {
	try {
		return { body: utf8.decode(bytes), bodyBase64: false };
	} catch {
		return { body: toBase64(bytes), bodyBase64: true };
	}
}

async function sha256Hex(parts: (string | Uint8Array)[]): Promise<string> {
	const encoder = new TextEncoder();
	const chunks = parts.map((p) => (typeof p === "string" ? encoder.encode(`${p}\n`) : p));
	const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
	let at = 0;
	for (const c of chunks) {
		all.set(c, at);
		at += c.length;
	}
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
	return Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** How long a deduplication id or content key holds, per destination (QSTASH.md "Limits"). */
export const DEDUP_WINDOW_MS = 86_400_000;

/**
 * The deduplication key of a publish (from its deduplication id, or its content with content-based
 * deduplication, and the destination), or null. A key's messages are `<key>_<bucket>`, the bucket
 * being the 24 h window the publish fell in: see `publishOne`.
 */
async function dedupKeyOf(p: QstashPublish, destination: string, bytes: Uint8Array): Promise<string | null> {
	if (p.deduplicationId !== null) return dedupIdKey(destination, p.deduplicationId);
	if (p.contentBasedDeduplication) {
		const forward = JSON.stringify(Object.entries(p.forward).sort());
		return `msg_c${await sha256Hex([destination, p.contentType ?? "", forward, bytes])}`;
	}
	return null;
}

/** The key of an `Upstash-Deduplication-Id` sent to `destination` (a URL, or `group:<name>`). */
export async function dedupIdKey(destination: string, deduplicationId: string): Promise<string> {
	return `msg_d${await sha256Hex([destination, deduplicationId])}`;
}

/** The message id of a deduplication key's publish in 24 h bucket `bucket` (floor(ms / DEDUP_WINDOW_MS)). */
export const bucketId = (key: string, bucket: number) => `${key}_${bucket.toString(36)}`;

/** True when message `id` of `topic` exists and was published less than DEDUP_WINDOW_MS before `nowMs`. */
async function publishedWithinWindow(env: AppEnv, topic: string, id: string, nowMs: number): Promise<boolean> {
	try {
		return (await topicClient(env, topic).messages.get(id)).publishedAtMs > nowMs - DEDUP_WINDOW_MS;
	} catch (error) {
		if (error instanceof AppError && ["topic_not_found", "message_not_found"].includes(error.code)) return false;
		throw error;
	}
}

/** The answer listing a group message's endpoints, one messageId each, in endpoint order. */
async function groupAnswer(env: AppEnv, group: string, id: string, duplicate: boolean): Promise<PublishAnswer> {
	const endpoints = (await topicClient(env, group).admin.listSubscriptions()).filter((s) => s.type === "webhook");
	const list = endpoints.map((e) => ({
		messageId: groupMessageId(group, id, e.name),
		url: e.url as string,
		...(duplicate ? { deduplicated: true as const } : {}),
	}));
	return { status: duplicate ? 202 : 200, body: list };
}

/**
 * A publish to a URL group: one message in the group's topic, one delivery per subscription; the
 * answer lists one messageId per webhook endpoint, in endpoint order.
 */
async function publishToGroup(env: AppEnv, group: string, message: NewMessage, dedup: boolean): Promise<PublishAnswer> {
	const client = topicClient(env, group);
	const endpoints = (await client.admin.listSubscriptions()).filter((s) => s.type === "webhook");
	if (endpoints.length === 0) throw new AppError(409, "no_endpoints", `URL group "${group}" has no endpoints`);
	const [result] = await client.messages.publish([message]);
	if (result && dedup && repeatedDedupId(result)) return groupAnswer(env, group, message.id, true);
	if (!result || "error" in result) throw new AppError(503, "partition_unavailable", "the URL group did not answer");
	return groupAnswer(env, group, result.id, result.duplicate);
}

/**
 * A deduplicated publish whose id is stored with another key (a queue's or a flow-control key):
 * still a repeat of that message, so deduplicated, as QStash answers any repeat of the id.
 */
const repeatedDedupId = (result: PublishResult) => "error" in result && result.error.code === "id_conflict";

/** The request headers of a publish, as `/openapi.json` lists them (batch items and schedules take the same). */
export const PUBLISH_HEADERS = z.object(
	Object.fromEntries(
		Object.entries({
			"Upstash-Method": "GET, POST (default), PUT, PATCH or DELETE",
			"Upstash-Delay": "50s, 1d10h30m, 500ms or seconds; ≤ 365 days",
			"Upstash-Not-Before": "unix seconds; wins over Upstash-Delay",
			"Upstash-Retries": "retries after the first attempt, 0–99 (default 3)",
			"Upstash-Retry-Delay": "expression in ms over `retried`, e.g. pow(2, retried) * 1000",
			"Upstash-Timeout": "per-attempt timeout (default 30s, ≤ 10m)",
			"Upstash-Deduplication-Id": "a repeat to the same destination within 24 h is deduplicated",
			"Upstash-Content-Based-Deduplication": "true: deduplicate by content",
			"Upstash-Forward-*": "delivered without the prefix",
			"Upstash-Header-Forward": "true: forward the request's other headers too",
			"Upstash-Label": "comma-separated labels",
			...CALLBACK_HEADER_DOCS,
		}).map(([name, description]) => [name, z.string().optional().openapi({ description })]),
	),
);

/** `POST /v2/publish/{destination}` to a URL or a URL group (QSTASH.md "Publishing"). */
export function publishRoutes(app: OpenAPIHono<HonoEnv>): void {
	documentRoute(app, {
		method: "post",
		path: "/v2/publish/{destination}",
		scope: "publish",
		summary:
			"Publish the raw body to a URL or URL group (QStash's publish); the Upstash-* headers set delay, retries, method…",
		params: z.object({ destination: z.string().openapi({ example: "https://example.com/hook" }) }),
		headers: PUBLISH_HEADERS,
		ok: {
			200: { description: "scheduled", schema: z.object({ messageId: z.string(), url: z.string() }) },
			202: {
				description: "deduplicated: nothing scheduled",
				schema: z.object({ messageId: z.string(), url: z.string(), deduplicated: z.literal(true) }),
			},
		},
		errors: [400, 401, 404, 409, 413, 501, 503],
	});

	app.post(`${PREFIX}*`, async (c) => {
		const config = getConfig(c.env);
		const raw = c.req.url.slice(c.req.url.indexOf(PREFIX) + PREFIX.length);
		authorize(c, "publish", destinationTopic(raw));
		const declared = Number(c.req.header("content-length") ?? "0");
		if (declared > config.maxBodyBytes) throw bodyTooLarge(declared, config.maxBodyBytes);
		const bytes = c.req.raw.body ? await readAtMost(c.req.raw.body, config.maxBodyBytes) : new Uint8Array();
		if (!bytes) throw bodyTooLarge(config.maxBodyBytes + 1, config.maxBodyBytes);
		const answer = await publishOne(c.env, raw, c.req.raw.headers, bytes, c.req.header("cf-connecting-ip") ?? null);
		return c.json(answer.body, answer.status);
	});
}

/**
 * The topic a raw destination publishes into, for the token's topic patterns: a URL group's topic,
 * else the system topic (URL publishes), which only a token for every topic (`*`) reaches.
 */
export function destinationTopic(raw: string): string {
	try {
		const { destination } = readDestination(raw);
		return destination.kind === "group" ? destination.name : SYSTEM_TOPIC;
	} catch {
		return SYSTEM_TOPIC;
	}
}

/** What a publish answers: 200, or 202 when it was a duplicate. */
export interface PublishAnswer {
	status: 200 | 202;
	body: PublishedTo | PublishedTo[];
}
type PublishedTo = { messageId: string; url: string; deduplicated?: true };

/** A publish read and checked: where it goes and the message to store (its id still to choose). */
export interface BuiltPublish {
	p: QstashPublish;
	group: string | null;
	url: string | null;
	message: Omit<NewMessage, "id">;
}

/** Reads and checks a publish (or a schedule's template): destination, headers, raw body. */
export function buildPublish(
	env: AppEnv,
	raw: string,
	headers: Headers,
	bytes: Uint8Array,
	callerIp: string | null,
	nowMs: number,
	queue: string | null = null,
): BuiltPublish {
	const config = getConfig(env);
	if (bytes.length > config.maxBodyBytes) throw bodyTooLarge(bytes.length, config.maxBodyBytes);
	const { destination, queryHeaders } = readDestination(raw);
	if (destination.kind === "url") {
		const checked = checkWebhookUrl(destination.url, { allowHttp: config.allowHttp });
		if (!checked.ok) throw new InvalidRequest(`destination: ${checked.reason}`);
	}
	const p = readPublish(destination, headers, queryHeaders, nowMs, queue);
	const callbacks = readCallbacks((name) => headers.get(name) ?? queryHeaders.get(name), headers, config);
	const group = destination.kind === "group" ? destination.name : null;
	const url = destination.kind === "url" ? destination.url : null;
	const stored = storedBody(bytes);
	return {
		p,
		group,
		url,
		message: {
			body: stored.body,
			contentType: p.contentType ?? "application/octet-stream",
			headers: p.forward,
			requestId: null,
			deliverAtMs: p.deliverAtMs,
			...keyOf(p),
			options: {
				kind: "qstash",
				url,
				method: p.method,
				contentType: p.contentType,
				retries: p.retries,
				retryDelay: p.retryDelay,
				timeoutMs: p.timeoutMs,
				bodyBase64: stored.bodyBase64,
				topicName: group,
				callerIp,
				labels: p.labels,
				...(callbacks.callback ? { callback: callbacks.callback } : {}),
				...(callbacks.failureCallback ? { failureCallback: callbacks.failureCallback } : {}),
			},
		},
	};
}

/** A queued message's key is its queue's; a flow-controlled one's, its flow-control key (key-limits.ts). */
function keyOf(p: QstashPublish): Pick<NewMessage, "key" | "keyLimits"> {
	if (p.queue !== null) return { key: queueKey(p.queue), keyLimits: { kind: "queue" } };
	if (p.flowControl === null) return {};
	const { key, parallelism, rate } = p.flowControl;
	return { key, keyLimits: { kind: "flow", parallelism, rate } };
}

/** The answer to a publish to a URL, from its stored outcome. */
export function urlAnswer(url: string, result: PublishResult): PublishAnswer {
	if ("error" in result) throw new AppError(503, result.error.code, result.error.message);
	return result.duplicate
		? { status: 202, body: { messageId: result.id, url, deduplicated: true } }
		: { status: 200, body: { messageId: result.id, url } };
}

/**
 * A publish read and checked, with its message: `plain` when it goes to a URL without
 * deduplication (the batch route stores those together, one call per partition), else `run`
 * finishes it (deduplication lookups, a URL group).
 */
export type PreparedPublish =
	| { kind: "plain"; url: string; message: NewMessage }
	| { kind: "other"; run: () => Promise<PublishAnswer> };

/** Reads and checks one publish (the route's, or one batch item's); throws an AppError for bad input. */
export async function preparePublish(
	env: AppEnv,
	raw: string,
	headers: Headers,
	bytes: Uint8Array,
	callerIp: string | null,
	queue: string | null = null,
): Promise<PreparedPublish> {
	const nowMs = Date.now();
	const built = buildPublish(env, raw, headers, bytes, callerIp, nowMs, queue);
	const { group, url } = built;
	const key = await dedupKeyOf(built.p, url ?? `group:${group}`, bytes);
	if (key === null && url !== null) {
		return { kind: "plain", url, message: { id: newMessageId(nowMs), ...built.message } };
	}
	return {
		kind: "other",
		run: async () => {
			// Deduplication over a sliding 24 h window in at most two lookups: a message of the previous
			// bucket published less than 24 h ago is the original; else the publish goes under this
			// bucket's id, where any message found (a conflict) is from the last 24 h, so a duplicate.
			let id = newMessageId(nowMs);
			if (key !== null) {
				const bucket = Math.floor(nowMs / DEDUP_WINDOW_MS);
				const earlier = bucketId(key, bucket - 1);
				if (await publishedWithinWindow(env, group ?? SYSTEM_TOPIC, earlier, nowMs)) {
					return group !== null
						? groupAnswer(env, group, earlier, true)
						: { status: 202, body: { messageId: earlier, url: url as string, deduplicated: true } };
				}
				id = bucketId(key, bucket);
			}
			const message: NewMessage = { id, ...built.message };
			if (group !== null) return publishToGroup(env, group, message, key !== null);
			const result = await publishToSystemTopic(env, message);
			if (key !== null && repeatedDedupId(result)) {
				return { status: 202, body: { messageId: id, url: url as string, deduplicated: true } };
			}
			return urlAnswer(url as string, result);
		},
	};
}

/** One publish: destination, headers and raw body in; the answer out, or an AppError. */
export async function publishOne(
	env: AppEnv,
	raw: string,
	headers: Headers,
	bytes: Uint8Array,
	callerIp: string | null,
	queue: string | null = null,
): Promise<PublishAnswer> {
	const prepared = await preparePublish(env, raw, headers, bytes, callerIp, queue);
	if (prepared.kind === "other") return prepared.run();
	return urlAnswer(prepared.url, await publishToSystemTopic(env, prepared.message));
}
