import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { qstashMessageId } from "../../delivery/qstash-ids";
import { SYSTEM_TOPIC } from "../../topic/client/system-topic";
import { authorize } from "../auth";
import type { HonoEnv } from "../types";
import { filterQuery, mergedPage, parseScanQuery, repeated, type SourcedRow } from "./scan";
import { documentRoute } from "./shared";

/**
 * `/v2/events` and `/v2/logs` (QSTASH.md "Logs"): the state changes of `/v2` deliveries, recorded
 * by the topic objects' triggers and kept as long as their message, newest first over every topic.
 */
const LOG_FILTERS = ["messageIds", "messageId", "state"] as const;

const Log = z
	.object({
		time: z.number(),
		state: z.enum(["CREATED", "ACTIVE", "RETRY", "DELIVERED", "FAILED", "CANCELLED"]),
		messageId: z.string(),
		url: z.string(),
		topicName: z.string().optional(),
		endpointName: z.string().optional(),
		scheduleId: z.string().optional(),
		labels: z.array(z.string()).optional(),
		nextDeliveryTime: z.number().optional(),
		error: z.string().optional(),
		responseStatus: z.number().optional(),
	})
	.openapi("QstashLog");

/** QSTASH.md's `Log`: fields that do not apply are absent; times in ms. */
function logJson(row: SourcedRow) {
	const o = row.options;
	const group = o.topicName !== null;
	return {
		time: row.atMs,
		state: row.state,
		messageId: qstashMessageId(o.topicName, row.id, row.subscription),
		url: row.url,
		...(group ? { topicName: o.topicName, endpointName: row.subscription } : {}),
		...(o.scheduleId ? { scheduleId: o.scheduleId } : {}),
		...(o.labels.length > 0 ? { labels: o.labels } : {}),
		...(row.state === "RETRY" && row.nextAtMs !== null ? { nextDeliveryTime: row.nextAtMs } : {}),
		...(row.error !== null && row.state !== "CREATED" && row.state !== "ACTIVE" ? { error: row.error } : {}),
		...(row.status !== null && row.state !== "CREATED" && row.state !== "ACTIVE" ? { responseStatus: row.status } : {}),
	};
}

export function logRoutes(app: OpenAPIHono<HonoEnv>): void {
	for (const [path, key] of [
		["/v2/events", "events"],
		["/v2/logs", "logs"],
	] as const) {
		documentRoute(app, {
			method: "get",
			path,
			scope: "read",
			summary: `State changes of /v2 deliveries, newest first, under \`${key}\`; \`cursor\` (unix ms) is absent on the last page`,
			query: filterQuery({
				messageIds: repeated(),
				messageId: z.string().optional(),
				state: z.string().optional().openapi({ description: "a Log state, or IN_PROGRESS (ACTIVE or RETRY)" }),
			}),
			ok: {
				200: {
					description: "one page",
					schema: z.object({ [key]: z.array(Log), cursor: z.string().optional() }),
				},
			},
			errors: [400, 401, 503],
		});
		app.get(path, async (c) => {
			authorize(c, "read", SYSTEM_TOPIC);
			const q = parseScanQuery(c.req.url, LOG_FILTERS, { count: 100, maxCount: 100 });
			const page = await mergedPage(c.env, "events", q);
			const events = page.rows.map(logJson);
			return c.json(page.cursor ? { [key]: events, cursor: page.cursor } : { [key]: events });
		});
	}
}
