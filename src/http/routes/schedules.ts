import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { getConfig } from "../../config";
import { InvalidRequest, unwrap } from "../../errors";
import { normalizeMessage } from "../../publish/normalize";
import { scheduleStub } from "../../schedule/client";
import { topicClient } from "../../topic/client";
import { HeaderMap, MessageKey, Name } from "../../validation";
import { endpoint } from "../endpoint";
import { errors } from "../schemas";
import type { HonoEnv } from "../types";
import { ScheduleSchema, scheduleJson } from "../views-schedules";

const TopicParams = z.object({ topic: Name });
const ScheduleParams = z.object({ topic: Name, name: Name });

const ScheduleBody = z
	.object({
		cron: z
			.string()
			.min(1)
			.max(256)
			.openapi({ description: "5 fields: minute hour day-of-month month day-of-week", example: "*/5 * * * *" }),
		timezone: z
			.string()
			.max(64)
			.optional()
			.openapi({ description: 'IANA time zone the cron is read in. @default "UTC"', example: "Europe/Berlin" }),
		body: z
			.any()
			.openapi({ description: "What each firing publishes: any JSON, or a string for non-JSON content types" }),
		content_type: z.string().max(256).optional().openapi({ description: "@default application/json" }),
		headers: HeaderMap.optional(),
		key: MessageKey.optional().openapi({
			description:
				"Ordering key of every firing's message, as for publishing: it lives in the key's partition and `ordering: \"key\"` subscriptions deliver it in turn with the key's other messages",
		}),
		paused: z.boolean().optional().openapi({ description: "@default false" }),
	})
	.strict()
	.openapi("ScheduleRequest");

const Schedules = z.object({ schedules: z.array(ScheduleSchema) });

/** Cron schedules of a topic: each firing publishes one message to it. */
export function scheduleRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "put",
			path: "/v1/topics/{topic}/schedules/{name}",
			scope: "publish",
			tag: "Schedules",
			summary: "Create or replace a cron schedule",
			description:
				"Each firing publishes one message to the topic, as `POST …/messages` would, with the id `{name}.{firing minute UTC}` (`nightly.2026-12-01T02:30Z`), so a firing is never published twice. DST: a local time that does not exist is skipped, one that occurs twice fires once. A firing missed while Sundial was down fires once on recovery, late. A replaced schedule fires from its next match after now on.",
			params: ScheduleParams,
			body: ScheduleBody,
			responses: {
				200: { description: "replaced", schema: ScheduleSchema },
				201: { description: "created", schema: ScheduleSchema },
				...errors(400, 401, 404, 409, 413, 415),
			},
		},
		async (c, { params, body }) => {
			if (!("body" in (body as object)) || body.body === undefined) {
				throw new InvalidRequest("invalid request body: body: body is required", [
					{ path: "body", message: "body is required" },
				]);
			}
			// The message every firing publishes, checked as a publish would check it (size, headers, type).
			const message = normalizeMessage(
				{ body: body.body, content_type: body.content_type, headers: body.headers, key: body.key },
				getConfig(c.env),
				Date.now(),
			);
			await topicClient(c.env, params.topic).admin.partitions();
			const result = unwrap(
				await scheduleStub(c.env).put(params.topic, params.name, {
					cron: body.cron,
					timezone: body.timezone,
					message: {
						body: message.body,
						contentType: message.contentType,
						headers: message.headers,
						...(message.key ? { key: message.key } : {}),
					},
					paused: body.paused ?? false,
				}),
			);
			return c.json(scheduleJson(result.schedule), result.created ? 201 : 200);
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/schedules",
			scope: "read",
			tag: "Schedules",
			summary: "List a topic's schedules",
			params: TopicParams,
			responses: { 200: { description: "schedules, by name", schema: Schedules }, ...errors(400, 401, 404) },
		},
		async (c, { params }) => {
			await topicClient(c.env, params.topic).admin.partitions();
			const rows = await scheduleStub(c.env).list(params.topic);
			return c.json({ schedules: rows.map(scheduleJson) });
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/schedules/{name}",
			scope: "read",
			tag: "Schedules",
			summary: "One schedule with its next and last firing",
			params: ScheduleParams,
			responses: { 200: { description: "the schedule", schema: ScheduleSchema }, ...errors(400, 401, 404) },
		},
		async (c, { params }) => c.json(scheduleJson(unwrap(await scheduleStub(c.env).get(params.topic, params.name)))),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/topics/{topic}/schedules/{name}",
			scope: "publish",
			tag: "Schedules",
			summary: "Delete a schedule: nothing fires after this",
			params: ScheduleParams,
			responses: {
				200: { description: "deleted", schema: z.object({ name: z.string(), deleted: z.literal(true) }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => {
			unwrap(await scheduleStub(c.env).remove(params.topic, params.name));
			return c.json({ name: params.name, deleted: true as const });
		},
	);

	for (const [action, paused] of [
		["pause", true],
		["resume", false],
	] as const) {
		endpoint(
			app,
			{
				method: "post",
				path: `/v1/topics/{topic}/schedules/{name}/${action}`,
				scope: "publish",
				tag: "Schedules",
				summary: paused
					? "Pause a schedule: firings are skipped, not queued up"
					: "Resume a schedule: it fires from its next match after now",
				params: ScheduleParams,
				responses: { 200: { description: "the schedule", schema: ScheduleSchema }, ...errors(400, 401, 404) },
			},
			async (c, { params }) =>
				c.json(scheduleJson(unwrap(await scheduleStub(c.env).setPaused(params.topic, params.name, paused)))),
		);
	}
}
