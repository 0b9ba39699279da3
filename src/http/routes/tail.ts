import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError, InvalidRequest } from "../../errors";
import { CONNECT_HEADER, MAX_TAIL_CLIENTS, type TailConnect } from "../../tail/hub";
import { offeredProtocols, TAIL_EVENT_TYPES, TAIL_PROTOCOL, type TailEventType } from "../../tail/wire";
import { topicClient } from "../../topic/client";
import { NAME_PATTERN, Name } from "../../validation";
import { AUTH_PROTOCOL_PREFIX } from "../auth";
import { endpoint } from "../endpoint";
import { errors } from "../schemas";
import type { HonoEnv } from "../types";

/** A comma-separated list in a query parameter, each item checked; absent or empty = no filter. */
function commaList<T extends string>(what: string, check: (item: string) => T | null, max: number) {
	return z
		.string()
		.optional()
		.transform((value, ctx) => {
			if (value === undefined || value.trim() === "") return null;
			const items = [...new Set(value.split(",").map((v) => v.trim()))];
			if (items.length > max) {
				ctx.addIssue({ code: "custom", message: `at most ${max} ${what}` });
				return z.NEVER;
			}
			const bad = items.filter((i) => check(i) === null);
			if (bad.length > 0) {
				ctx.addIssue({ code: "custom", message: `not ${what}: ${bad.map((b) => JSON.stringify(b)).join(", ")}` });
				return z.NEVER;
			}
			return items as T[];
		});
}

const TailQuery = z
	.object({
		subscription: commaList("subscription names", (s) => (NAME_PATTERN.test(s) ? s : null), 100).openapi({
			type: "string",
			description: "Only events of these subscriptions (comma-separated names); `published` events always pass",
			example: "billing,audit",
		}),
		types: commaList(
			`event types (${TAIL_EVENT_TYPES.join(", ")})`,
			(t) => (TAIL_EVENT_TYPES.includes(t as TailEventType) ? (t as TailEventType) : null),
			TAIL_EVENT_TYPES.length,
		).openapi({
			type: "string",
			description: `Only these event types (comma-separated: ${TAIL_EVENT_TYPES.join(", ")}); \`ready\`, \`dropped\` and \`topic_deleted\` always pass`,
			example: "attempt_ended,dead",
		}),
	})
	.strict();

/** `GET /v1/topics/{topic}/tail`: the topic's live event stream, a WebSocket held by its hub. */
export function tailRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/tail",
			scope: "read",
			tag: "Tail",
			summary: "Live event stream of a topic (WebSocket)",
			description: `Upgrades to a WebSocket that receives one JSON object per message, each with a \`type\`: \`ready\` first, then \`published\`, \`attempt_started\`, \`attempt_ended\`, \`delivered\`, \`retry_scheduled\`, \`dead\` as they happen, merged over all partitions (in order per message), and \`dropped\` (with a \`count\`) when events were not forwarded under load. No bodies, headers or secrets. The token goes in \`Authorization\` or, where headers cannot be set (browsers), as the subprotocol \`${AUTH_PROTOCOL_PREFIX}<base64url(token)>\` offered beside \`${TAIL_PROTOCOL}\`. At most ${MAX_TAIL_CLIENTS} clients per topic. Event format: docs/API.md "Live tail".`,
			params: z.object({ topic: Name }),
			query: TailQuery,
			responses: {
				101: { description: "switching to a WebSocket; the first message is the `ready` event" },
				...errors(400, 401, 404, 426, 429, 503),
			},
		},
		async (c, { params, query }) => {
			if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
				c.header("upgrade", "websocket");
				throw new AppError(
					426,
					"upgrade_required",
					"this route is a WebSocket: connect with Upgrade: websocket (e.g. new WebSocket(url))",
				);
			}
			const offered = offeredProtocols(c.req.header("sec-websocket-protocol"));
			if (offered.length > 0 && !offered.includes(TAIL_PROTOCOL)) {
				throw new InvalidRequest(`offer the subprotocol "${TAIL_PROTOCOL}" (or none)`, [
					{ path: "sec-websocket-protocol", message: `must include ${TAIL_PROTOCOL}` },
				]);
			}
			// 404 before the upgrade (the hub checks again when it gives the partitions their lease).
			await topicClient(c.env, params.topic).tail.partitions();
			const connect: TailConnect = {
				topic: params.topic,
				filter: { subscriptions: query.subscription, types: query.types },
				protocol: offered.length > 0 ? TAIL_PROTOCOL : null,
			};
			// A fresh request: the client's headers (its token among them) never reach the hub.
			const hub = c.env.TAIL_HUB.getByName(params.topic);
			return hub.fetch(
				new Request("https://tail-hub.internal/", {
					headers: { upgrade: "websocket", [CONNECT_HEADER]: JSON.stringify(connect) },
				}),
			);
		},
	);
}
