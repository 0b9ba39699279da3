import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../config";
import { MAX_KEY_PERIOD_MS, MAX_KEY_RATE } from "../../delivery/qstash-flow-control";
import { InvalidRequest, NotFound } from "../../errors";
import { formatInstant } from "../../time";
import type { BlockedKey } from "../../topic/blocked-keys";
import { topicClient } from "../../topic/client";
import type { KeyLimitsView } from "../../topic/types";
import { durationBetween, MAX_PARALLELISM, MessageKey, Name } from "../../validation";
import { decodeCursor, encodeCursor } from "../cursor";
import { endpoint } from "../endpoint";
import { errors, PageQuery } from "../schemas";
import type { HonoEnv } from "../types";

const Time = z.string().openapi({ example: "2026-12-01T09:00:00.000Z" });
const TopicParams = z.object({ topic: Name });
const KeyParams = z.object({
	topic: Name,
	key: MessageKey.openapi({ description: "URL-encoded", example: "customer-7" }),
});

/** A key's rate: its period may be longer than a subscription's (up to 7 days, as `/v2` flow-control keys). */
const KeyRate = z
	.object({
		limit: z.number().int().min(1).max(MAX_KEY_RATE),
		period: durationBetween(1000, MAX_KEY_PERIOD_MS, "rate.period")
			.optional()
			.openapi({ description: 'up to 7d. @default "1s"' }),
	})
	.strict();

const KeyBody = z
	.object({
		rate: KeyRate.nullable().optional().openapi({
			description:
				"at most `limit` attempts of the key's messages start in any `period` (sliding), all subscriptions together",
		}),
		parallelism: z.number().int().min(1).max(MAX_PARALLELISM).nullable().optional().openapi({
			description: "most attempts of the key's messages in flight at once (push attempts and pull leases)",
		}),
		paused: z.boolean().optional().openapi({ description: "nothing of the key starts while paused. @default false" }),
	})
	.strict()
	.openapi("KeyLimitsRequest");

export const KeyLimitsSchema = z
	.object({
		key: z.string(),
		rate: z.object({ limit: z.number(), period_ms: z.number() }).nullable(),
		parallelism: z.number().nullable(),
		paused: z.boolean(),
		waiting: z.number().openapi({ description: "messages of the key with a delivery scheduled (due or not)" }),
		in_flight: z.number(),
		rate_count: z.number().openapi({ description: "attempts started in the current rate window" }),
		rate_window_start: Time.nullable(),
		created_at: Time,
		updated_at: Time,
	})
	.openapi("KeyLimits");

export function keyLimitsJson(k: KeyLimitsView) {
	return {
		key: k.key,
		rate: k.rate ? { limit: k.rate.limit, period_ms: k.rate.periodMs } : null,
		parallelism: k.parallelism,
		paused: k.paused,
		waiting: k.waiting,
		in_flight: k.inFlight,
		rate_count: k.rateCount,
		rate_window_start: k.ratePeriodStartMs === null ? null : formatInstant(k.ratePeriodStartMs),
		created_at: formatInstant(k.createdAtMs),
		updated_at: formatInstant(k.updatedAtMs),
	};
}

export const BlockedKeySchema = z
	.object({
		key: z.string(),
		blocked_by: z.enum(["paused", "parallelism", "rate", "ordering", "queue"]),
		waiting: z.number().openapi({ description: "due deliveries of the key waiting" }),
		oldest_due_at: Time,
		head: z
			.object({
				id: z.string(),
				state: z.string(),
				attempts: z.number(),
				next_attempt_at: Time.nullable(),
				last_error: z.string().nullable(),
			})
			.nullable()
			.openapi({ description: "the key's first pending message for the subscription: what the rest wait for" }),
	})
	.openapi("BlockedKey");

export function blockedKeyJson(b: BlockedKey) {
	return {
		key: b.key,
		blocked_by: b.blockedBy,
		waiting: b.waiting,
		oldest_due_at: formatInstant(b.oldestDueAtMs),
		head: b.head
			? {
					id: b.head.id,
					state: b.head.state,
					attempts: b.head.attempts,
					next_attempt_at: b.head.nextAttemptAtMs === null ? null : formatInstant(b.head.nextAttemptAtMs),
					last_error: b.head.lastError,
				}
			: null,
	};
}

/** A page of a subscription's blocked keys, as the API shows it. */
export async function blockedPage(env: AppEnv, topic: string, name: string, cursor: string | undefined, limit: number) {
	const scope = `${topic}/${name}`;
	const after = cursor ? decodeCursor(cursor, "blocked", scope, 1)[0] : null;
	if (after !== null && typeof after !== "string") {
		throw new InvalidRequest("invalid cursor", [{ path: "cursor", message: "not a cursor of this list" }]);
	}
	const page = await topicClient(env, topic).keys.blocked(name, after, limit);
	return {
		keys: page.keys.map(blockedKeyJson),
		next_cursor: page.next === null ? null : encodeCursor("blocked", scope, [page.next]),
	};
}

const keyNotFound = (key: string) => new NotFound("key_not_found", `key "${key}" has no limits`);

/** Limits of message keys: set, read, list, remove (README "Flow control"). */
export function keyRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "put",
			path: "/v1/topics/{topic}/keys/{key}",
			scope: "admin",
			tag: "Keys",
			summary: "Set a key's limits: rate, parallelism, paused",
			description:
				"The limits hold for every message of the key, across the topic's subscriptions (a key's messages all live in one partition, so they are exact). Fields left out keep their value; `null` removes a limit.",
			params: KeyParams,
			body: KeyBody,
			responses: {
				200: { description: "the key's limits now", schema: KeyLimitsSchema },
				...errors(400, 401, 404, 415),
			},
		},
		async (c, { params, body }) => {
			const input = {
				...(body.rate !== undefined && {
					rate: body.rate ? { limit: body.rate.limit, periodMs: body.rate.period ?? 1000 } : null,
				}),
				...(body.parallelism !== undefined && { parallelism: body.parallelism }),
				...(body.paused !== undefined && { paused: body.paused }),
			};
			const view = await topicClient(c.env, params.topic).keys.change(params.key, { kind: "put", input });
			return c.json(keyLimitsJson(view as KeyLimitsView));
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/keys/{key}",
			scope: "read",
			tag: "Keys",
			summary: "A key's limits and what they hold back now",
			params: KeyParams,
			responses: { 200: { description: "the key", schema: KeyLimitsSchema }, ...errors(400, 401, 404) },
		},
		async (c, { params }) => {
			const view = await topicClient(c.env, params.topic).keys.get(params.key);
			if (!view) throw keyNotFound(params.key);
			return c.json(keyLimitsJson(view));
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/keys",
			scope: "read",
			tag: "Keys",
			summary: "List keys with limits, in key order",
			params: TopicParams,
			query: PageQuery,
			responses: {
				200: {
					description: "one page",
					schema: z.object({ keys: z.array(KeyLimitsSchema), next_cursor: z.string().nullable() }),
				},
				...errors(400, 401, 404),
			},
		},
		async (c, { params, query }) => {
			const after = query.cursor ? decodeCursor(query.cursor, "keys", params.topic, 1)[0] : null;
			if (after !== null && typeof after !== "string") {
				throw new InvalidRequest("invalid cursor", [{ path: "cursor", message: "not a cursor of this list" }]);
			}
			const page = await topicClient(c.env, params.topic).keys.list(after, query.limit);
			return c.json({
				keys: page.keys.map(keyLimitsJson),
				next_cursor: page.next === null ? null : encodeCursor("keys", params.topic, [page.next]),
			});
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/subscriptions/{name}/blocked-keys",
			scope: "read",
			tag: "Keys",
			summary: "Keys whose due deliveries to this subscription cannot go now, and why",
			description:
				'A key is blocked when it has due deliveries and none may go: its limits hold it (`paused`, `parallelism`, `rate`), or, for an `ordering: "key"` subscription, they wait behind the key\'s first pending message (`ordering`: a retry, or an attempt in flight), shown as `head`. In key order, merged over partitions.',
			params: z.object({ topic: Name, name: Name }),
			query: PageQuery,
			responses: {
				200: {
					description: "one page",
					schema: z.object({ keys: z.array(BlockedKeySchema), next_cursor: z.string().nullable() }),
				},
				...errors(400, 401, 404),
			},
		},
		async (c, { params, query }) =>
			c.json(await blockedPage(c.env, params.topic, params.name, query.cursor, query.limit)),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/topics/{topic}/keys/{key}",
			scope: "admin",
			tag: "Keys",
			summary: "Remove a key's limits (its messages go unlimited)",
			params: KeyParams,
			responses: {
				200: { description: "removed", schema: z.object({ deleted: z.boolean() }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => {
			const keys = topicClient(c.env, params.topic).keys;
			if (!(await keys.get(params.key))) throw keyNotFound(params.key);
			await keys.change(params.key, { kind: "remove" });
			return c.json({ deleted: true });
		},
	);
}
