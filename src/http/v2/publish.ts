import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { toBase64 } from "../../base64";
import { type AppEnv, getConfig } from "../../config";
import { groupMessageId } from "../../delivery/qstash-ids";
import { checkWebhookUrl } from "../../delivery/url-guard";
import { AppError, InvalidRequest } from "../../errors";
import { newMessageId } from "../../publish/normalize";
import { readAtMost } from "../../streams";
import { topicClient } from "../../topic/client";
import type { NewMessage } from "../../topic/types";
import type { HonoEnv } from "../types";
import { bodyTooLarge, type QstashPublish, readDestination, readPublish } from "./publish-request";
import { documentRoute } from "./shared";
import { publishToSystemTopic } from "./system-topic";

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

/**
 * The message id: with a deduplication id or content-based deduplication, derived from it and the
 * destination, so a repeat reaches the same partition and is a duplicate; else a new one.
 */
async function messageIdOf(p: QstashPublish, url: string, bytes: Uint8Array, nowMs: number): Promise<string> {
	if (p.deduplicationId !== null) return `msg_d${await sha256Hex([url, p.deduplicationId])}`;
	if (p.contentBasedDeduplication) {
		const forward = JSON.stringify(Object.entries(p.forward).sort());
		return `msg_c${await sha256Hex([url, p.contentType ?? "", forward, bytes])}`;
	}
	return newMessageId(nowMs);
}

/**
 * A publish to a URL group: one message in the group's topic, one delivery per subscription; the
 * answer lists one messageId per webhook endpoint, in endpoint order.
 */
async function publishToGroup(env: AppEnv, group: string, message: NewMessage): Promise<PublishAnswer> {
	const client = topicClient(env, group);
	const endpoints = (await client.admin.listSubscriptions()).filter((s) => s.type === "webhook");
	if (endpoints.length === 0) throw new AppError(409, "no_endpoints", `URL group "${group}" has no endpoints`);
	const [result] = await client.messages.publish([message]);
	if (!result || "error" in result) throw new AppError(503, "partition_unavailable", "the URL group did not answer");
	const list = endpoints.map((e) => ({
		messageId: groupMessageId(group, result.id, e.name),
		url: e.url as string,
		...(result.duplicate ? { deduplicated: true as const } : {}),
	}));
	return { status: result.duplicate ? 202 : 200, body: list };
}

/** `POST /v2/publish/{destination}` to a URL or a URL group (QSTASH.md "Publishing"). */
export function publishRoutes(app: OpenAPIHono<HonoEnv>): void {
	documentRoute(app, {
		method: "post",
		path: "/v2/publish/{destination}",
		summary:
			"Publish the raw body to a URL or URL group (QStash's publish); the Upstash-* headers set delay, retries, method…",
		params: z.object({ destination: z.string().openapi({ example: "https://example.com/hook" }) }),
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
		const declared = Number(c.req.header("content-length") ?? "0");
		if (declared > config.maxBodyBytes) throw bodyTooLarge(declared, config.maxBodyBytes);
		const bytes = c.req.raw.body ? await readAtMost(c.req.raw.body, config.maxBodyBytes) : new Uint8Array();
		if (!bytes) throw bodyTooLarge(config.maxBodyBytes + 1, config.maxBodyBytes);
		const raw = c.req.url.slice(c.req.url.indexOf(PREFIX) + PREFIX.length);
		const answer = await publishOne(c.env, raw, c.req.raw.headers, bytes, c.req.header("cf-connecting-ip") ?? null);
		return c.json(answer.body, answer.status);
	});
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
): BuiltPublish {
	const config = getConfig(env);
	if (bytes.length > config.maxBodyBytes) throw bodyTooLarge(bytes.length, config.maxBodyBytes);
	const { destination, queryHeaders } = readDestination(raw);
	if (destination.kind === "url") {
		const checked = checkWebhookUrl(destination.url, { allowHttp: config.allowHttp });
		if (!checked.ok) throw new InvalidRequest(`destination: ${checked.reason}`);
	}
	const p = readPublish(destination, headers, queryHeaders, nowMs);
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
			},
		},
	};
}

/** One publish (the route's, or one batch item's): destination, headers and raw body in; the answer out, or an AppError. */
export async function publishOne(
	env: AppEnv,
	raw: string,
	headers: Headers,
	bytes: Uint8Array,
	callerIp: string | null,
): Promise<PublishAnswer> {
	const nowMs = Date.now();
	const built = buildPublish(env, raw, headers, bytes, callerIp, nowMs);
	const { group, url } = built;
	const message: NewMessage = {
		id: await messageIdOf(built.p, url ?? `group:${group}`, bytes, nowMs),
		...built.message,
	};
	if (group !== null) return publishToGroup(env, group, message);
	const result = await publishToSystemTopic(env, message);
	if ("error" in result) throw new AppError(503, result.error.code, result.error.message);
	return result.duplicate
		? { status: 202, body: { messageId: result.id, url: url as string, deduplicated: true } }
		: { status: 200, body: { messageId: result.id, url: url as string } };
}
