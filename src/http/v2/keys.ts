import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { getConfig } from "../../config";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { qstashErrors, unsupported } from "./shared";

/** `GET /v2/keys` (the configured signing keys) and the 501 of `POST /v2/keys/rotate`. */
export function keyRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v2/keys",
			scope: "admin",
			tag: "qstash",
			summary: "The signing keys deliveries are signed with (current) and receivers also accept (next)",
			responses: {
				200: { description: "the keys", schema: z.object({ current: z.string(), next: z.string() }) },
				...qstashErrors(401, 503),
			},
		},
		(c) => c.json(getConfig(c.env).qstashKeys as { current: string; next: string }),
	);
	endpoint(
		app,
		{
			method: "post",
			path: "/v2/keys/rotate",
			scope: "admin",
			tag: "qstash",
			summary: "Not supported (501): keys rotate by changing SUNDIAL_QSTASH_*_SIGNING_KEY",
			responses: qstashErrors(401, 501, 503),
		},
		() => {
			throw unsupported("rotating keys over the API");
		},
	);
}

/** What QSTASH.md puts out of scope: workflows. */
export function unsupportedRoutes(app: OpenAPIHono<HonoEnv>): void {
	const features: [string, string][] = [
		["/v2/workflows", "workflows"],
		["/v2/workflows/*", "workflows"],
	];
	for (const [path, feature] of features) {
		app.all(path, () => {
			throw unsupported(feature);
		});
	}
}
