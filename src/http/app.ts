import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../errors";
import { bearerAuth } from "./auth";
import { type OpenAPIDocument, renderDocsPage } from "./docs-page";
import { deadRoutes } from "./routes/dead";
import { keyRoutes } from "./routes/keys";
import { messageRoutes } from "./routes/messages";
import { metricsRoutes } from "./routes/metrics";
import { pullRoutes } from "./routes/pull";
import { scheduleRoutes } from "./routes/schedules";
import { steeringRoutes } from "./routes/steering";
import { subscriptionRoutes } from "./routes/subscriptions";
import { tailRoutes } from "./routes/tail";
import { tokenRoutes } from "./routes/tokens";
import { topicRoutes } from "./routes/topics";
import type { HonoEnv } from "./types";
import { qstashKeysConfigured, qstashRoutes } from "./v2/routes";

/** DESIGN.md's error shape on `/v1` and elsewhere; QStash's `{"error": "<message>"}` on `/v2`. */
function errorResponse(c: Context<HonoEnv>, error: AppError): Response {
	if (c.req.path.startsWith("/v2/") || c.req.path === "/v2") return c.json({ error: error.message }, error.status);
	return c.json({ error: error.toBody() }, error.status);
}

/** Matches a request path against the app's route patterns (for 405 vs 404). */
function allowedMethods(app: OpenAPIHono<HonoEnv>, path: string): string[] {
	const methods = new Set<string>();
	for (const route of app.routes) {
		if (route.method === "ALL") continue;
		const pattern = new RegExp(`^${route.path.replace(/:\w+/g, "[^/]+")}/?$`);
		if (pattern.test(path)) methods.add(route.method);
	}
	return [...methods];
}

/** Builds the Hono app: auth, routes, the OpenAPI document, docs page, and the error shape. */
export function createApp(): OpenAPIHono<HonoEnv> {
	const app = new OpenAPIHono<HonoEnv>();
	app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

	app.use("/v1/*", bearerAuth());
	app.use("/v2/*", bearerAuth(), qstashKeysConfigured());
	app.use("/metrics", bearerAuth());
	topicRoutes(app);
	subscriptionRoutes(app);
	messageRoutes(app);
	steeringRoutes(app);
	deadRoutes(app);
	keyRoutes(app);
	pullRoutes(app);
	scheduleRoutes(app);
	tokenRoutes(app);
	tailRoutes(app);
	metricsRoutes(app);
	qstashRoutes(app);

	app.get("/health", (c) => c.json({ ok: true }));
	const document = () =>
		app.getOpenAPI31Document({
			openapi: "3.1.0",
			info: {
				title: "Sundial",
				version: "1",
				description:
					'A delay queue on Cloudflare\'s edge. Every `/v1` and `/v2` route needs `Authorization: Bearer <token>`. `/v2` (tag qstash) is compatible with `@upstash/qstash` and answers errors as `{"error": "…"}`. In `/v1`, times are seconds or duration strings in requests, RFC 3339 UTC with milliseconds in responses.',
			},
		});
	app.get("/openapi.json", (c) => c.json(document()));
	app.get("/docs", (c) => c.html(renderDocsPage(document() as unknown as OpenAPIDocument)));

	app.notFound((c) => {
		const allowed = allowedMethods(app, c.req.path);
		if (allowed.length > 0) {
			c.header("allow", allowed.join(", "));
			return errorResponse(
				c,
				new AppError(405, "method_not_allowed", `${c.req.method} is not allowed here; use ${allowed.join(" or ")}`),
			);
		}
		return errorResponse(c, new AppError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
	});
	app.onError((error, c) => {
		if (error instanceof AppError) return errorResponse(c, error);
		console.error("sundial: unhandled error", error);
		return errorResponse(c, new AppError(500, "internal", "internal error; it has been logged"));
	});
	return app;
}
