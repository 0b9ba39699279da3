import { z } from "@hono/zod-openapi";
import type { Config } from "../config";
import { InvalidRequest, TooLarge } from "../errors";
import { isJsonMedia } from "../media";
import { newMessageId } from "../message-id";
import { parseDurationMs, parseInstantMs } from "../time";
import type { NewMessage } from "../topic/types";
import { Duration, HeaderMap, Instant, MessageKey, NAME_PATTERN, Name, toIssues } from "../validation";

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
		key: MessageKey.optional(),
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

type ParsedItem = z.output<typeof PublishItem>;

/** The fields of the common item, which quickParse takes without zod. */
const QUICK_KEYS = new Set(["body", "delay", "deliver_at", "id"]);

const asTime = (value: unknown, parse: (v: number | string) => number): number | null | undefined => {
	if (value === undefined) return undefined;
	if (typeof value !== "number" && typeof value !== "string") return null;
	try {
		return parse(value);
	} catch {
		return null;
	}
};

/**
 * The hot path of batch publishing: an item of only `body`, `delay` or `deliver_at`, and `id`, all
 * valid, parsed by hand (zod per item was a large share of a batch's CPU). Anything else returns
 * null and takes the zod path, which also words every error, so results do not depend on the path.
 */
function quickParse(raw: unknown): ParsedItem | null {
	if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
	const fields = raw as Record<string, unknown>;
	for (const key in fields) if (!QUICK_KEYS.has(key)) return null;
	const { body, id } = fields;
	if (body === undefined) return null;
	if (id !== undefined && (typeof id !== "string" || !NAME_PATTERN.test(id))) return null;
	const delay = asTime(fields.delay, parseDurationMs);
	const deliverAt = asTime(fields.deliver_at, parseInstantMs);
	if (delay === null || deliverAt === null) return null;
	return { body, delay, deliver_at: deliverAt, id } as ParsedItem;
}

/** Parses with the PublishItem schema; throws the 400 naming every bad field under `prefix`. */
function fullParse(raw: unknown, prefix: string): ParsedItem {
	const parsed = PublishItem.safeParse(raw);
	if (!parsed.success) {
		const issues = toIssues(parsed.error, prefix);
		throw new InvalidRequest(`invalid message: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
	}
	return parsed.data;
}

/**
 * Turns one published item into a message to store, or throws the AppError that says why not:
 * field errors (400) named under `prefix`, or a body over the limit (413).
 */
export function normalizeMessage(raw: unknown, config: Config, nowMs: number, prefix = ""): NewMessage {
	const item = quickParse(raw) ?? fullParse(raw, prefix);
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
	// A UTF-16 code unit is at most 3 UTF-8 bytes: short bodies need no encoding to be measured.
	const bytes = body.length * 3 <= config.maxBodyBytes ? 0 : encoder.encode(body).byteLength;
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
		...(item.key !== undefined ? { key: item.key } : {}),
	};
}
