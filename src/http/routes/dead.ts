import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { InvalidRequest } from "../../errors";
import { topicClient } from "../../topic/client";
import { Name } from "../../validation";
import { decodeCursor, encodeCursor } from "../cursor";
import { endpoint } from "../endpoint";
import { errors, PageQuery } from "../schemas";
import type { HonoEnv } from "../types";
import { DeadSchema, deadJson } from "../views";

const SubParams = z.object({ topic: Name, name: Name });
const RedriveBody = z
	.object({ ids: z.array(Name).min(1).max(1000).optional().openapi({ description: "message ids; omit for all" }) })
	.strict()
	.openapi("RedriveRequest");

/** Dead letters of a subscription: list, redrive, purge. */
export function deadRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/subscriptions/{name}/dead",
			scope: "read",
			tag: "Dead letters",
			summary: "List dead deliveries with their last status and error",
			params: SubParams,
			query: PageQuery,
			responses: {
				200: {
					description: "one page",
					schema: z.object({ dead: z.array(DeadSchema), next_cursor: z.string().nullable() }),
				},
				...errors(400, 401, 404),
			},
		},
		async (c, { params, query }) => {
			const scope = `${params.topic}/${params.name}`;
			const after = query.cursor ? decodeCursor(query.cursor, "dead", scope, 2) : null;
			if (after && !after.every((n) => typeof n === "number")) {
				throw new InvalidRequest("invalid cursor", [{ path: "cursor", message: "not a cursor of this list" }]);
			}
			const dead = topicClient(c.env, params.topic).messages;
			const page = await dead.listDead(params.name, after as [number, number] | null, query.limit);
			return c.json({
				dead: page.dead.map(deadJson),
				next_cursor: page.next !== null ? encodeCursor("dead", scope, page.next) : null,
			});
		},
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/subscriptions/{name}/dead/redrive",
			scope: "admin",
			tag: "Dead letters",
			summary: "Schedule dead deliveries again now, attempts reset",
			description:
				'`{"ids": [...]}` redrives those (all must be dead, else 409 and nothing changes); `{}` redrives all: the first 1000 at once, the rest in batches by the alarm (`pending` says how many are left).',
			params: SubParams,
			body: RedriveBody,
			responses: {
				200: { description: "redriven", schema: z.object({ redriven: z.number(), pending: z.number() }) },
				...errors(400, 401, 404, 409, 415),
			},
		},
		async (c, { params, body }) =>
			c.json(await topicClient(c.env, params.topic).messages.redrive(params.name, body.ids ?? null)),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/topics/{topic}/subscriptions/{name}/dead",
			scope: "admin",
			tag: "Dead letters",
			summary: "Purge dead deliveries",
			description: "The first 1000 at once, the rest in batches by the alarm (`pending` says how many are left).",
			params: SubParams,
			responses: {
				200: { description: "purged", schema: z.object({ purged: z.number(), pending: z.number() }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => c.json(await topicClient(c.env, params.topic).messages.purgeDead(params.name)),
	);
}
