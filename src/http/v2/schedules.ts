import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { mapBounded } from "../../concurrency";
import { getConfig } from "../../config";
import { AppError, InvalidRequest, NotFound, unwrap } from "../../errors";
import { scheduleStub } from "../../schedule/client";
import { nextFiringMs } from "../../schedule/cron";
import type { ScheduleRow } from "../../schedule/store";
import { readAtMost } from "../../streams";
import { topicClient } from "../../topic/client";
import { ensureSystemTopic, SYSTEM_TOPIC } from "../../topic/client/system-topic";
import { NAME_PATTERN } from "../../validation";
import { authorize } from "../auth";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { keyFields } from "./messages";
import { buildPublish, destinationTopic, PUBLISH_HEADERS } from "./publish";
import { bodyTooLarge } from "./publish-request";
import { lastStatesReader, type ScheduleStates } from "./schedule-states";
import { documentRoute, headerLists, qstashErrors } from "./shared";

/**
 * `/v2/schedules` (QSTASH.md "Schedules"): kept in the one schedule object with the others; a
 * firing publishes exactly as `POST /v2/publish` would (into the system topic for a URL, the
 * group's topic for a URL group), its message id derived from (schedule, minute).
 */
const PREFIX = "/v2/schedules/";
const IdParams = z.object({ scheduleId: z.string().regex(NAME_PATTERN, "not a schedule id") });

/** Last-firing lookups the list runs at once (up to 1000 schedules, each one call to a topic). */
const STATE_LOOKUPS_AT_ONCE = 6;

const notFound = (id: string) => new NotFound("schedule_not_found", `schedule ${id} not found`);

/** QSTASH.md's `Schedule`; `states` (the last firing's, read from its message) is absent when null. */
function scheduleJson(s: ScheduleRow, states: ScheduleStates | null) {
	const o = s.message.options;
	const next = nextFiringMs({ cron: s.fields, timezone: s.timezone }, Date.now());
	return {
		scheduleId: s.name,
		cron: s.cron,
		destination: o?.url ?? s.topic,
		method: o?.method ?? "POST",
		header: headerLists(s.message.headers),
		...(o?.bodyBase64 ? { bodyBase64: s.message.body } : { body: s.message.body }),
		retries: o?.retries ?? 3,
		...(o?.retryDelay ? { retryDelayExpression: o.retryDelay } : {}),
		...(s.message.delayMs ? { delay: Math.round(s.message.delayMs / 1000) } : {}),
		...(o ? { timeout: Math.round(o.timeoutMs / 1000) } : {}),
		createdAt: s.createdAtMs,
		isPaused: s.paused,
		...(o?.callerIp ? { callerIp: o.callerIp } : {}),
		...(o?.callback ? { callback: o.callback.url } : {}),
		...(o?.failureCallback ? { failureCallback: o.failureCallback.url } : {}),
		...(next !== null ? { nextScheduleTime: next } : {}),
		...(s.lastAtMs !== null ? { lastScheduleTime: s.lastAtMs } : {}),
		...(states !== null ? { lastScheduleStates: states } : {}),
		...keyFields(s.message.key ?? null),
		...(s.message.keyLimits?.kind === "flow"
			? {
					...(s.message.keyLimits.parallelism !== null ? { parallelism: s.message.keyLimits.parallelism } : {}),
					...(s.message.keyLimits.rate
						? { rate: s.message.keyLimits.rate.limit, period: s.message.keyLimits.rate.periodMs / 1000 }
						: {}),
				}
			: {}),
	};
}

async function find(env: HonoEnv["Bindings"], id: string): Promise<ScheduleRow> {
	const row = await scheduleStub(env).findQstash(id);
	if (!row) throw notFound(id);
	return row;
}

export function qstashScheduleRoutes(app: OpenAPIHono<HonoEnv>): void {
	// Registered before the create route, whose path would match them too.
	for (const method of ["patch", "post"] as const) {
		for (const [action, paused] of [
			["pause", true],
			["resume", false],
		] as const) {
			endpoint(
				app,
				{
					method,
					path: `/v2/schedules/{scheduleId}/${action}`,
					scope: "publish",
					tag: "qstash",
					summary: paused ? "Pause a schedule: firings are skipped" : "Resume a schedule from its next match",
					params: IdParams,
					responses: { 200: { description: "done", schema: z.object({}) }, ...qstashErrors(400, 401, 404, 503) },
				},
				async (c, { params }) => {
					const row = await find(c.env, params.scheduleId);
					unwrap(await scheduleStub(c.env).setPaused(row.topic, row.name, paused));
					return c.json({});
				},
			);
		}
	}

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/schedules",
			scope: "read",
			tag: "qstash",
			summary: "Every schedule made through /v2",
			responses: { 200: { description: "schedules", schema: z.array(z.any()) }, ...qstashErrors(401, 503) },
		},
		async (c) => {
			const rows = await scheduleStub(c.env).listQstash();
			const states = await mapBounded(rows, STATE_LOOKUPS_AT_ONCE, lastStatesReader(c.env));
			return c.json(rows.map((row, i) => scheduleJson(row, states[i] ?? null)));
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/schedules/{scheduleId}",
			scope: "read",
			tag: "qstash",
			summary: "One schedule",
			params: IdParams,
			responses: { 200: { description: "the schedule", schema: z.any() }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params }) => {
			const row = await find(c.env, params.scheduleId);
			return c.json(scheduleJson(row, await lastStatesReader(c.env)(row)));
		},
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v2/schedules/{scheduleId}",
			scope: "publish",
			tag: "qstash",
			summary: "Delete a schedule: nothing fires after this",
			params: IdParams,
			responses: { 200: { description: "deleted", schema: z.object({}) }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params }) => {
			const row = await find(c.env, params.scheduleId);
			unwrap(await scheduleStub(c.env).remove(row.topic, row.name));
			return c.json({});
		},
	);

	documentRoute(app, {
		method: "post",
		path: "/v2/schedules/{destination}",
		scope: "publish",
		summary: "Create or replace (Upstash-Schedule-Id) a cron schedule that publishes to the destination",
		params: z.object({ destination: z.string() }),
		headers: PUBLISH_HEADERS.extend({
			"Upstash-Cron": z.string().openapi({ description: "5 fields, optional CRON_TZ=<zone> prefix" }),
			"Upstash-Schedule-Id": z.string().optional().openapi({ description: "upserts this id" }),
		}),
		ok: { 200: { description: "created", schema: z.object({ scheduleId: z.string() }) } },
		errors: [400, 401, 404, 412, 413, 501, 503],
	});
	app.post(`${PREFIX}*`, async (c) => {
		authorize(c, "publish", destinationTopic(c.req.url.slice(c.req.url.indexOf(PREFIX) + PREFIX.length)));
		const config = getConfig(c.env);
		const headers = c.req.raw.headers;
		const cron = headers.get("upstash-cron");
		if (!cron) throw new InvalidRequest("Upstash-Cron: required (5 fields, optional CRON_TZ= prefix)");
		if (headers.has("upstash-deduplication-id") || headers.has("upstash-content-based-deduplication")) {
			throw new InvalidRequest("Upstash-Deduplication-Id: not accepted on schedules (each firing has its own id)");
		}
		const id = headers.get("upstash-schedule-id") ?? `scd_${crypto.randomUUID().replace(/-/g, "")}`;
		if (!NAME_PATTERN.test(id))
			throw new InvalidRequest("Upstash-Schedule-Id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$");
		const bytes = c.req.raw.body ? await readAtMost(c.req.raw.body, config.maxBodyBytes) : new Uint8Array();
		if (!bytes) throw bodyTooLarge(config.maxBodyBytes + 1, config.maxBodyBytes);
		const nowMs = Date.now();
		const raw = c.req.url.slice(c.req.url.indexOf(PREFIX) + PREFIX.length);
		const built = buildPublish(c.env, raw, headers, bytes, c.req.header("cf-connecting-ip") ?? null, nowMs);
		const topic = built.group ?? SYSTEM_TOPIC;
		if (built.group) await topicClient(c.env, built.group).admin.partitions();
		else await ensureSystemTopic(c.env);
		const contentType = built.p.contentType ?? "application/json";
		const options = { ...built.message.options, kind: "qstash" as const, contentType, scheduleId: id };
		const stub = scheduleStub(c.env);
		const previous = await stub.findQstash(id);
		if (previous && previous.topic !== topic) await stub.remove(previous.topic, previous.name);
		const put = await stub.put(topic, id, {
			cron,
			timezone: undefined,
			message: {
				body: built.message.body,
				contentType,
				headers: built.message.headers,
				options: options as ScheduleRow["message"]["options"],
				delayMs: Math.max(0, built.message.deliverAtMs - nowMs),
				...(built.message.key ? { key: built.message.key, keyLimits: built.message.keyLimits } : {}),
			},
			paused: false,
		});
		if (!put.ok) {
			// QStash's quota answer is 412; a bad cron is a 400 naming Upstash-Cron.
			if (put.error.code === "too_many_schedules") throw new AppError(412, put.error.code, put.error.message);
			throw new AppError(
				put.error.status,
				put.error.code,
				`Upstash-Cron: ${put.error.issues?.[0]?.message ?? put.error.message}`,
			);
		}
		return c.json({ scheduleId: id });
	});
}
