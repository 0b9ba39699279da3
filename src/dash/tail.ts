/**
 * GET /dash/topics/{topic}/tail: the topic's live tail for the dashboard's page. A browser cannot set an
 * Authorization header on a WebSocket, so this route takes the session cookie instead (routes.ts
 * checked it), refuses a handshake from another origin (cross-site WebSocket hijacking), and forwards
 * to the API's `GET /v1/topics/{topic}/tail` as the session's token: the same hub, filters and answers,
 * and the API checks that the token has `read` on the topic.
 */
import { z } from "@hono/zod-openapi";
import type { Hono } from "hono";
import { AppError } from "../errors";
import { offeredProtocols, TAIL_PROTOCOL } from "../tail/wire";
import { Name, validate } from "../validation";
import { topicPath } from "./api";
import { requireSameOrigin } from "./sign-in";
import type { DashEnv } from "./types";

/** Registers the tail route. */
export function tailRoute(dash: Hono<DashEnv>): void {
	dash.get("/topics/:topic/tail", async (c) => {
		const { topic } = validate(z.object({ topic: Name }), c.req.param(), "path parameter");
		if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
			throw new AppError(426, "upgrade_required", "this route is a WebSocket (the topic page connects to it)");
		}
		requireSameOrigin(c);
		const headers: Record<string, string> = {
			authorization: `Bearer ${c.get("session").token}`,
			upgrade: "websocket",
		};
		// Only the event format is passed on: never a token offered as a subprotocol.
		if (offeredProtocols(c.req.header("sec-websocket-protocol")).includes(TAIL_PROTOCOL)) {
			headers["sec-websocket-protocol"] = TAIL_PROTOCOL;
		}
		const url = new URL(c.req.url);
		const target = new URL(`${topicPath(topic, "tail")}${url.search}`, url);
		return c.get("api")(new Request(target, { headers }), c.env, c.executionCtx);
	});
}
