/**
 * Validators shared by every way in (HTTP routes, the service binding, later the QStash layer):
 * names, durations, instants, header maps, and turning zod failures into DESIGN.md's issues.
 */
import { z } from "@hono/zod-openapi";
import { type ErrorIssue, InvalidRequest } from "./errors";
import { parseDurationMs, parseInstantMs, TimeParseError } from "./time";

/** Topic and subscription names (DESIGN.md "Names"). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NAME_MESSAGE = "must be 1–128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit";

/** A topic, subscription or message name. */
export const Name = z.string().regex(NAME_PATTERN, NAME_MESSAGE);

/** A message's ordering key (DESIGN.md "Flow control"): on publish and on a schedule's firings. */
export const MessageKey = z
	.string()
	.regex(/^[\x20-\x7e]{1,256}$/, "must be 1–256 printable ASCII characters")
	.openapi({
		description: 'Ordering key: one at a time per key for `ordering: "key"` subscriptions',
		example: "customer-7",
	});

/** Seconds (number) or a duration string, parsed to milliseconds. */
export const Duration = z
	.union([z.number(), z.string()])
	.transform((value, ctx) => {
		try {
			return parseDurationMs(value);
		} catch (error) {
			if (!(error instanceof TimeParseError)) throw error;
			ctx.addIssue({ code: "custom", message: error.message });
			return z.NEVER;
		}
	})
	.openapi({
		description: 'Seconds (may be fractional) or a duration string: "250ms", "30s", "5m", "2h", "7d"',
		example: "30s",
	});

/** RFC 3339 (any offset) or unix seconds, parsed to epoch milliseconds. */
export const Instant = z
	.union([z.number(), z.string()])
	.transform((value, ctx) => {
		try {
			return parseInstantMs(value);
		} catch (error) {
			if (!(error instanceof TimeParseError)) throw error;
			ctx.addIssue({ code: "custom", message: error.message });
			return z.NEVER;
		}
	})
	.openapi({ description: "RFC 3339 with any offset, or unix seconds", example: "2026-12-01T09:00:00Z" });

/** A bounded duration in milliseconds. */
export function durationBetween(minMs: number, maxMs: number, label: string) {
	return Duration.refine((ms) => ms >= minMs && ms <= maxMs, `${label} must be from ${minMs} ms to ${maxMs} ms`);
}

/** Most attempts in flight a limit may allow (a subscription's, topic-wide; a key's). */
export const MAX_PARALLELISM = 1000;

/** A sliding-window rate: at most `limit` attempts start in any `period` (≤ 1 h). */
export const RateBody = z
	.object({
		limit: z.number().int().min(1).max(100_000),
		period: durationBetween(1000, 3_600_000, "rate.period")
			.optional()
			.openapi({ description: 'up to 1h. @default "1s"' }),
	})
	.strict();

/** A header name: an HTTP token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Printable ASCII (and tab): what every HTTP stack carries unchanged. */
const HEADER_VALUE = /^[\t\x20-\x7e]{0,2048}$/;
const RESERVED =
	/^(content-length|content-type|host|connection|keep-alive|transfer-encoding|te|trailer|upgrade|expect|x-request-id|proxy-.*|webhook-.*|sundial-.*)$/i;

/** Custom headers: at most 32, token names, printable values, none that Sundial sets itself. */
export const HeaderMap = z
	.record(z.string(), z.string())
	.superRefine((headers, ctx) => {
		const names = Object.keys(headers);
		if (names.length > 32) ctx.addIssue({ code: "custom", message: "at most 32 headers" });
		for (const name of names) {
			if (!HEADER_NAME.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "not a valid header name" });
			else if (RESERVED.test(name))
				ctx.addIssue({ code: "custom", path: [name], message: "this header is set by Sundial" });
			if (!HEADER_VALUE.test(headers[name] as string)) {
				ctx.addIssue({
					code: "custom",
					path: [name],
					message: "value must be printable ASCII, at most 2048 characters",
				});
			}
		}
	})
	.transform((headers) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])))
	.openapi({ example: { "x-tenant": "a" } });

/** Turns zod issues into DESIGN.md's `issues[]`, paths joined with dots under `prefix`. */
export function toIssues(error: z.ZodError, prefix = ""): ErrorIssue[] {
	const join = (parts: PropertyKey[]) => [prefix, ...parts.map(String)].filter((p) => p !== "").join(".") || "(body)";
	return error.issues.flatMap((issue) =>
		// An unknown field is named by its own path, not its parent's ("(body)").
		issue.code === "unrecognized_keys"
			? issue.keys.map((key) => ({ path: join([...issue.path, key]), message: "unknown field" }))
			: [{ path: join(issue.path), message: issue.message }],
	);
}

/** Validates `value` or throws a 400 naming each bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string, prefix = ""): z.output<S> {
	const parsed = schema.safeParse(value);
	if (parsed.success) return parsed.data;
	const issues = toIssues(parsed.error, prefix);
	throw new InvalidRequest(`invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
}
