import { z } from "@hono/zod-openapi";
import type { Config } from "../config";
import { AppError, InvalidRequest, TooLarge } from "../errors";
import { toIssues } from "../http/endpoint";
import { Duration, HeaderMap, Instant, Name } from "../http/schemas";
import { isJsonMedia } from "../media";
import type { NewMessage } from "../topic/types";

/** One message as a client publishes it (DESIGN.md "Publishing"). */
export const PublishItem = z
	.object({
		body: z
			.any()
			.openapi({ description: "Any JSON value; a string when content_type is not JSON", example: { order: 42 } }),
		delay: Duration.optional().openapi({ description: "Wait before delivery: seconds or a duration string" }),
		deliver_at: Instant.optional().openapi({ description: "Due instant: RFC 3339 or unix seconds" }),
		id: Name.optional().openapi({
			description: "Your id: a repeat is a duplicate and schedules nothing",
			example: "order-42",
		}),
		headers: HeaderMap.optional(),
		request_id: z
			.string()
			.regex(/^[\x21-\x7e]{1,256}$/, "must be 1–256 printable ASCII characters without spaces")
			.optional()
			.openapi({ description: "Sent to the consumer as x-request-id", example: "trace-1" }),
		content_type: z
			.string()
			.regex(/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;[\x20-\x7e]*)?$/, "must be a media type such as text/plain")
			.max(256)
			.optional()
			.openapi({ description: "Media type of the delivered body. @default application/json" }),
	})
	.strict()
	.openapi("PublishRequest");

const encoder = new TextEncoder();

/** Generates a message id: time-ordered, unique. */
export function newMessageId(nowMs: number): string {
	const random = crypto.getRandomValues(new Uint8Array(10));
	let suffix = "";
	for (const byte of random) suffix += byte.toString(16).padStart(2, "0");
	return `msg_${nowMs.toString(36)}${suffix}`;
}

/**
 * Turns one published item into a message to store, or throws the AppError that says why not:
 * field errors (400) named under `prefix`, or a body over the limit (413).
 */
export function normalizeMessage(raw: unknown, config: Config, nowMs: number, prefix = ""): NewMessage {
	const parsed = PublishItem.safeParse(raw);
	if (!parsed.success) {
		const issues = toIssues(parsed.error, prefix);
		throw new InvalidRequest(`invalid message: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
	}
	const item = parsed.data;
	const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
	const invalid = (field: string, message: string) =>
		new InvalidRequest(`invalid message: ${at(field)}: ${message}`, [{ path: at(field), message }]);

	if (!("body" in (raw as object)) || item.body === undefined) throw invalid("body", "body is required");
	if (item.delay !== undefined && item.deliver_at !== undefined) {
		throw invalid("delay", "give delay or deliver_at, not both");
	}
	let deliverAtMs = nowMs;
	if (item.delay !== undefined) {
		if (item.delay > config.maxDelayMs) throw invalid("delay", `at most ${config.maxDelayMs / 1000} seconds`);
		deliverAtMs = nowMs + item.delay;
	} else if (item.deliver_at !== undefined) {
		if (item.deliver_at > nowMs + config.maxDelayMs) {
			throw invalid("deliver_at", `at most ${config.maxDelayMs / 1000} seconds from now`);
		}
		deliverAtMs = item.deliver_at;
	}

	const contentType = item.content_type ?? "application/json";
	let body: string;
	if (isJsonMedia(contentType)) {
		body = JSON.stringify(item.body);
	} else if (typeof item.body === "string") {
		body = item.body;
	} else {
		throw invalid("body", `must be a string when content_type is ${contentType}`);
	}
	const bytes = encoder.encode(body).byteLength;
	if (bytes > config.maxBodyBytes) {
		throw new TooLarge("body_too_large", `${at("body")} is ${bytes} bytes; the limit is ${config.maxBodyBytes}`);
	}
	return {
		id: item.id ?? newMessageId(nowMs),
		body,
		contentType,
		headers: item.headers ?? {},
		requestId: item.request_id ?? null,
		deliverAtMs,
	};
}

/** An item's error as a batch result carries it. */
export function itemError(error: unknown): {
	error: { code: string; message: string; issues?: { path: string; message: string }[] };
} {
	if (error instanceof AppError) return { error: error.toBody() };
	throw error;
}
