/** What every `/v2` route module shares: its error responses, the 501, header lists, documenting raw routes. */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors";
import type { Scope } from "../../tokens/scopes";
import type { HonoEnv } from "../types";

const QstashError = z.object({ error: z.string() }).openapi("QstashError");

/** QStash's `{"error"}` responses for `endpoint()` specs. */
export const qstashErrors = (...statuses: number[]) =>
	Object.fromEntries(statuses.map((s) => [s, { description: "error", schema: QstashError }]));

/** A QStash feature Sundial does not have: 501, nothing scheduled. */
export function unsupported(feature: string): AppError {
	return new AppError(501, "not_supported", `${feature} is not supported by Sundial`);
}

/** Headers as QStash shows them: `{"X-Name": ["v"]}`. */
export function headerLists(headers: Record<string, string>): Record<string, string[]> {
	return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
}

/**
 * Documents a `/v2` route that `endpoint()` cannot register (a raw destination in the path, or
 * repeated query parameters): in `/openapi.json` under the tag qstash, with QStash's error responses.
 */
export function documentRoute(
	app: OpenAPIHono<HonoEnv>,
	route: {
		method: "get" | "post" | "delete";
		path: string;
		/** The scope a token needs (the handler checks it with `authorize`). */
		scope: Scope;
		summary: string;
		description?: string;
		params?: z.ZodObject;
		query?: z.ZodObject;
		/** Request headers, each documented (the Upstash-* headers of a publish). */
		headers?: z.ZodObject;
		ok: Record<number, { description: string; schema: z.ZodType }>;
		errors: number[];
	},
): void {
	const json = (r: { description: string; schema: z.ZodType }) => ({
		description: r.description,
		content: { "application/json": { schema: r.schema } },
	});
	app.openAPIRegistry.registerPath({
		method: route.method,
		path: route.path,
		tags: ["qstash"],
		summary: route.summary,
		description: route.description,
		security: [{ bearer: [route.scope] }],
		"x-sundial-scope": route.scope,
		request: { params: route.params as never, query: route.query as never, headers: route.headers as never },
		responses: Object.fromEntries(
			[...Object.entries(route.ok), ...Object.entries(qstashErrors(401, 403, 503, ...route.errors))].map(([s, r]) => [
				s,
				json(r),
			]),
		),
	});
}
