import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { type AppEnv, getConfig } from "../../config";
import { DEFAULT_RETRY, type RetryPolicy } from "../../delivery/backoff";
import { isQueueBinding } from "../../delivery/queue";
import { checkWebhookUrl } from "../../delivery/url-guard";
import { InvalidRequest } from "../../errors";
import { topicClient } from "../../topic/client";
import type { SubscriptionConfig } from "../../topic/types";
import { durationBetween, HeaderMap, MAX_PARALLELISM, Name, RateBody } from "../../validation";
import { endpoint } from "../endpoint";
import { errors } from "../schemas";
import type { HonoEnv } from "../types";
import { SubscriptionSchema, subscriptionJson } from "../views";
import { BlockedKeySchema, blockedPage } from "./keys";

const TopicParams = z.object({ topic: Name });
const SubParams = z.object({ topic: Name, name: Name });
const DAY_MS = 86_400_000;
/** Blocked keys a subscription GET shows inline. */
const BLOCKED_SHOWN = 10;

const RetryBody = z
	.object({
		max_attempts: z.number().int().min(1).max(100).openapi({ description: "1–100. @default 10" }),
		backoff: z.enum(["exponential", "linear", "fixed"]).openapi({ description: '@default "exponential"' }),
		base: durationBetween(0, DAY_MS, "base").openapi({ description: '@default "1s"' }),
		max: durationBetween(0, 7 * DAY_MS, "max").openapi({ description: '@default "1h"' }),
		jitter: z.boolean().openapi({ description: "@default true" }),
	})
	.partial()
	.strict();

const SubscriptionBody = z
	.object({
		type: z.enum(["webhook", "queue", "pull"]),
		url: z
			.string()
			.max(2048)
			.optional()
			.openapi({ description: "webhook only", example: "https://example.com/hooks/orders" }),
		headers: HeaderMap.optional(),
		timeout: durationBetween(100, 300_000, "timeout")
			.optional()
			.openapi({ description: 'webhook only, up to 5m. @default "30s"' }),
		queue: z.string().optional().openapi({ description: "queue only: a producer binding" }),
		visibility_timeout: durationBetween(1000, 12 * 3_600_000, "visibility_timeout")
			.optional()
			.openapi({ description: 'pull only. @default "30s"' }),
		retry: RetryBody.optional(),
		paused: z.boolean().optional().openapi({ description: "@default false" }),
		rate: RateBody.nullable().optional().openapi({
			description: "webhook and queue only: at most `limit` attempts start in any `period` (sliding), topic-wide",
		}),
		ordering: z.enum(["key"]).nullable().optional().openapi({
			description:
				'"key": one message per key at a time, in due order then publish order (push: the next starts after the previous was delivered or went dead; pull: while none of its key is leased). @default null',
		}),
		parallelism: z
			.number()
			.int()
			.min(1)
			.max(MAX_PARALLELISM)
			.nullable()
			.optional()
			.openapi({
				description: `webhook and queue only: at most this many attempts in flight, topic-wide (1–${MAX_PARALLELISM})`,
			}),
	})
	.strict()
	.openapi("SubscriptionRequest");

type Body = z.output<typeof SubscriptionBody>;
const bad = (path: string, message: string) =>
	new InvalidRequest(`invalid request body: ${path}: ${message}`, [{ path, message }]);

function retryOf(body: Body): RetryPolicy {
	const retry = {
		maxAttempts: body.retry?.max_attempts ?? DEFAULT_RETRY.maxAttempts,
		backoff: body.retry?.backoff ?? DEFAULT_RETRY.backoff,
		baseMs: body.retry?.base ?? DEFAULT_RETRY.baseMs,
		maxMs: body.retry?.max ?? DEFAULT_RETRY.maxMs,
		jitter: body.retry?.jitter ?? DEFAULT_RETRY.jitter,
	};
	if (retry.maxMs < retry.baseMs) throw bad("retry.max", "must not be below retry.base");
	return retry;
}

/** Checks the fields of one subscription type and fills in the defaults. */
export function toConfig(body: Body, env: AppEnv): SubscriptionConfig {
	const only = (field: keyof Body, type: string) => {
		if (body[field] !== undefined) throw bad(field, `only for type ${type}`);
	};
	const base = {
		headers: {},
		timeoutMs: 30_000,
		queue: null,
		url: null,
		visibilityTimeoutMs: 30_000,
		retry: retryOf(body),
		paused: body.paused ?? false,
		rate: body.rate ? { limit: body.rate.limit, periodMs: body.rate.period ?? 1000 } : null,
		parallelism: body.parallelism ?? null,
		ordering: body.ordering ?? null,
	};
	if (body.type === "webhook") {
		if (body.url === undefined) throw bad("url", "a webhook subscription needs a url");
		const checked = checkWebhookUrl(body.url, { allowHttp: getConfig(env).allowHttp });
		if (!checked.ok) throw bad("url", checked.reason);
		only("queue", "queue");
		only("visibility_timeout", "pull");
		return {
			...base,
			type: "webhook",
			url: checked.url.href,
			headers: body.headers ?? {},
			timeoutMs: body.timeout ?? 30_000,
		};
	}
	if (body.type === "queue") {
		if (body.queue === undefined) throw bad("queue", "a queue subscription needs the name of a producer binding");
		const binding = (env as unknown as Record<string, unknown>)[body.queue];
		if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(body.queue) || !isQueueBinding(binding)) {
			throw bad("queue", `the Worker has no queue producer binding "${body.queue}" (add one in wrangler.toml)`);
		}
		for (const field of ["url", "headers", "timeout"] as const) only(field, "webhook");
		only("visibility_timeout", "pull");
		return { ...base, type: "queue", queue: body.queue };
	}
	for (const field of ["url", "headers", "timeout"] as const) only(field, "webhook");
	only("queue", "queue");
	for (const field of ["rate", "parallelism"] as const) {
		if (body[field] !== undefined && body[field] !== null) throw bad(field, "only for webhook and queue subscriptions");
	}
	return { ...base, type: "pull", visibilityTimeoutMs: body.visibility_timeout ?? 30_000 };
}

/** Subscription routes: create/replace, list, get, delete. */
export function subscriptionRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "put",
			path: "/v1/topics/{topic}/subscriptions/{name}",
			scope: "admin",
			tag: "Subscriptions",
			summary: "Create or replace a subscription",
			description:
				"A new webhook subscription's response carries its signing `secret` (whsec_…) once; a replacing PUT keeps the secret and its response has `secret: null`.",
			params: SubParams,
			body: SubscriptionBody,
			responses: {
				200: { description: "replaced", schema: SubscriptionSchema.extend({ secret: z.string().nullable() }) },
				201: { description: "created", schema: SubscriptionSchema.extend({ secret: z.string().nullable() }) },
				...errors(400, 401, 404, 409, 413, 415),
			},
		},
		async (c, { params, body }) => {
			const config = toConfig(body, c.env);
			const result = await topicClient(c.env, params.topic).admin.putSubscription(params.name, config);
			return c.json({ ...subscriptionJson(result.subscription), secret: result.secret }, result.created ? 201 : 200);
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/subscriptions",
			scope: "read",
			tag: "Subscriptions",
			summary: "List a topic's subscriptions (at most 100, not paginated)",
			params: TopicParams,
			responses: {
				200: { description: "subscriptions", schema: z.object({ subscriptions: z.array(SubscriptionSchema) }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => {
			const subs = await topicClient(c.env, params.topic).admin.listSubscriptions();
			return c.json({ subscriptions: subs.map(subscriptionJson) });
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/topics/{topic}/subscriptions/{name}",
			scope: "read",
			tag: "Subscriptions",
			summary: "One subscription with its counts, lag and blocked keys",
			description:
				"With `blocked_keys`: the first page (10) of the keys whose due deliveries cannot go now (`…/blocked-keys` pages on).",
			params: SubParams,
			responses: {
				200: {
					description: "the subscription",
					schema: SubscriptionSchema.extend({
						blocked_keys: z.object({ keys: z.array(BlockedKeySchema), next_cursor: z.string().nullable() }),
					}),
				},
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => {
			const sub = await topicClient(c.env, params.topic).admin.getSubscription(params.name);
			const blocked = await blockedPage(c.env, params.topic, params.name, undefined, BLOCKED_SHOWN);
			return c.json({ ...subscriptionJson(sub), blocked_keys: blocked });
		},
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/topics/{topic}/subscriptions/{name}",
			scope: "admin",
			tag: "Subscriptions",
			summary: "Remove a subscription and all its deliveries",
			params: SubParams,
			responses: {
				200: { description: "deleted", schema: z.object({ name: z.string(), deleted: z.literal(true) }) },
				...errors(400, 401, 404),
			},
		},
		async (c, { params }) => {
			await topicClient(c.env, params.topic).admin.deleteSubscription(params.name);
			return c.json({ name: params.name, deleted: true as const });
		},
	);
}
