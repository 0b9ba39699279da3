import { z } from "@hono/zod-openapi";

/** The error body every failure returns. */
export const ErrorSchema = z
	.object({
		error: z.object({
			code: z.string(),
			message: z.string(),
			issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
		}),
	})
	.openapi("Error");

/** Standard error responses, merged into each route's list. */
export const errors = (...statuses: number[]) =>
	Object.fromEntries(statuses.map((s) => [s, { description: ERROR_TEXT[s] ?? "error", schema: ErrorSchema }]));

const ERROR_TEXT: Record<number, string> = {
	400: "invalid request (the issues name each bad field)",
	401: "missing, wrong, revoked or expired bearer token",
	403: "the token lacks the route's scope, or may not use the topic",
	404: "unknown topic, subscription or message",
	409: "conflict with the current state",
	413: "over a documented size limit",
	415: "request body is not JSON",
	426: "not a WebSocket request: this route upgrades",
	429: "over a documented limit of concurrent use",
	503: "a topic's object did not answer, the topic is being re-created, or a Worker variable is invalid; retry",
};

/** `?limit=&cursor=` of paginated lists. */
export const PageQuery = z.object({
	limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ description: "1–1000, default 100" }),
	cursor: z.string().max(512).optional().openapi({ description: "next_cursor of the previous page" }),
});
