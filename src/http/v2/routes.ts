import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { getConfig } from "../../config";
import { AppError } from "../../errors";
import type { HonoEnv } from "../types";
import { batchRoutes } from "./batch";
import { dlqRoutes } from "./dlq";
import { flowControlRoutes } from "./flow-control";
import { urlGroupRoutes } from "./groups";
import { keyRoutes, unsupportedRoutes } from "./keys";
import { logRoutes } from "./logs";
import { messageRoutes } from "./messages";
import { publishRoutes } from "./publish";
import { queueRoutes } from "./queues";
import { qstashScheduleRoutes } from "./schedules";

/**
 * `/v2` refuses to work without both signing keys (QSTASH.md: never an unsigned delivery). Runs
 * after the bearer check, so an unauthenticated caller learns nothing about the configuration.
 */
export function qstashKeysConfigured(): MiddlewareHandler<HonoEnv> {
	return async function sundialQstashKeys(c, next) {
		if (!getConfig(c.env).qstashKeys) {
			throw new AppError(503, "qstash_keys_not_configured", "QStash signing keys are not configured");
		}
		await next();
	};
}

/** The QStash-compatible `/v2` routes built so far (QSTASH.md; the README's QStash section says which). */
export function qstashRoutes(app: OpenAPIHono<HonoEnv>): void {
	urlGroupRoutes(app);
	publishRoutes(app);
	batchRoutes(app);
	messageRoutes(app);
	dlqRoutes(app);
	logRoutes(app);
	qstashScheduleRoutes(app);
	flowControlRoutes(app);
	queueRoutes(app);
	keyRoutes(app);
	unsupportedRoutes(app);
}
