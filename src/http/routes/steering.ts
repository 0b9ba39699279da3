import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { getConfig } from "../../config";
import { InvalidRequest } from "../../errors";
import { type MessagePosition, topicClient } from "../../topic/client";
import { DELIVERY_STATES } from "../../topic/types";
import { Duration, Instant, Name } from "../../validation";
import { decodeCursor, encodeCursor } from "../cursor";
import { endpoint } from "../endpoint";
import { errors, PageQuery } from "../schemas";
import type { HonoEnv } from "../types";
import { MessageSummarySchema, messageSummaryJson } from "../views";

const TopicParams = z.object({ topic: Name });
const MessageParams = z.object({ topic: Name, id: Name });

/** An instant in a query string: unix seconds arrive there as a string, so a numeric one is read as a number. */
const QueryInstant = z.preprocess(
	(value) => (typeof value === "string" && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value),
	Instant,
);

const ListQuery = PageQuery.extend({
	state: z
		.enum(DELIVERY_STATES as [string, ...string[]])
		.optional()
		.openapi({ description: "messages with a delivery in this state" }),
	subscription: Name.optional().openapi({ description: "messages with a delivery of this subscription" }),
	from: QueryInstant.optional().openapi({ description: "due at or after (RFC 3339 or unix seconds)" }),
	to: QueryInstant.optional().openapi({ description: "due at or before (RFC 3339 or unix seconds)" }),
});

const RescheduleBody = z
	.object({
		delay: Duration.optional().openapi({ description: "from now: seconds or a duration string" }),
		deliver_at: Instant.optional().openapi({ description: "RFC 3339 or unix seconds" }),
	})
	.strict()
	.openapi("RescheduleRequest");

const Moved = z.object({ id: z.string(), scheduled: z.number() });

/** Listing and steering messages: list, cancel, deliver now, reschedule. */
export function steeringRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/messages",
			scope: "read",
			tag: "Messages",
			summary: "List messages, newest due first",
			description:
				"Paginated by an opaque `next_cursor`. `state` and `subscription` select messages with a matching delivery; `from`/`to` bound the due time. Items carry no body (GET one message for it).",
			params: TopicParams,
			query: ListQuery,
			responses: {
				200: {
					description: "one page",
					schema: z.object({ messages: z.array(MessageSummarySchema), next_cursor: z.string().nullable() }),
				},
				...errors(400, 401, 404),
			},
		},
		async (c, { params, query }) => {
			if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
				throw new InvalidRequest("invalid query parameter: from is after to", [
					{ path: "from", message: "must not be after to" },
				]);
			}
			const before = query.cursor ? decodeCursor(query.cursor, "messages", params.topic, 3) : null;
			if (before && !before.every((n) => typeof n === "number")) {
				throw new InvalidRequest("invalid cursor", [{ path: "cursor", message: "not a cursor of this list" }]);
			}
			const page = await topicClient(c.env, params.topic).messages.list(
				{
					state: (query.state as (typeof DELIVERY_STATES)[number] | undefined) ?? null,
					subscription: query.subscription ?? null,
					fromMs: query.from ?? null,
					toMs: query.to ?? null,
					limit: query.limit,
				},
				before as MessagePosition | null,
			);
			return c.json({
				messages: page.messages.map(messageSummaryJson),
				next_cursor: page.next ? encodeCursor("messages", params.topic, page.next) : null,
			});
		},
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/topics/{topic}/messages/{id}",
			scope: "publish",
			tag: "Messages",
			summary: "Cancel every pending delivery of a message",
			description:
				"Scheduled and in-flight deliveries become `cancelled`. An attempt already on the wire may still reach the receiver; its outcome is discarded and the delivery stays cancelled.",
			params: MessageParams,
			responses: {
				200: { description: "cancelled", schema: z.object({ id: z.string(), cancelled: z.number() }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => c.json(await topicClient(c.env, params.topic).messages.cancel(params.id)),
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/messages/{id}/deliver",
			scope: "publish",
			tag: "Messages",
			summary: "Deliver now, whatever the due time",
			description: "Every scheduled delivery becomes due now (a paused subscription still waits for un-pausing).",
			params: MessageParams,
			responses: { 200: { description: "moved", schema: Moved }, ...errors(400, 401, 404) },
		},
		async (c, { params }) => c.json(await topicClient(c.env, params.topic).messages.deliverNow(params.id)),
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/messages/{id}/reschedule",
			scope: "publish",
			tag: "Messages",
			summary: "Move a message's due time",
			description:
				"`delay` or `deliver_at`. Moves every scheduled delivery; one in flight finishes its attempt first. 409 when nothing is scheduled.",
			params: MessageParams,
			body: RescheduleBody,
			responses: {
				200: { description: "moved", schema: Moved.extend({ deliver_at: z.string() }) },
				...errors(400, 401, 404, 409, 415),
			},
		},
		async (c, { params, body }) => {
			const config = getConfig(c.env);
			const nowMs = Date.now();
			if ((body.delay === undefined) === (body.deliver_at === undefined)) {
				throw new InvalidRequest("invalid request body: give delay or deliver_at", [
					{ path: "delay", message: "give exactly one of delay and deliver_at" },
				]);
			}
			const atMs = body.delay !== undefined ? nowMs + body.delay : (body.deliver_at as number);
			if (atMs > nowMs + config.maxDelayMs) {
				const field = body.delay !== undefined ? "delay" : "deliver_at";
				throw new InvalidRequest(`invalid request body: ${field} is too far`, [
					{ path: field, message: `at most ${config.maxDelayMs / 1000} seconds from now` },
				]);
			}
			const moved = await topicClient(c.env, params.topic).messages.reschedule(params.id, atMs);
			return c.json({
				id: moved.id,
				deliver_at: new Date(moved.deliverAtMs).toISOString(),
				scheduled: moved.scheduled,
			});
		},
	);
}
