import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError, NotFound } from "../../errors";
import { registryStub } from "../../registry/client";
import { scheduleStub } from "../../schedule/client";
import { topicClient } from "../../topic/client";
import type { SubscriptionView, TopicView } from "../../topic/types";
import { Name } from "../../validation";
import { endpoint } from "../endpoint";
import { toConfig } from "../routes/subscriptions";
import type { HonoEnv } from "../types";
import { qstashErrors } from "./shared";

/**
 * URL groups (QSTASH.md "URL groups"): a group is a Sundial topic, its endpoints are the topic's
 * webhook subscriptions. A subscription made here gets DESIGN's `/v1` defaults.
 */

const GroupParams = z.object({ name: Name });
const Endpoint = z.object({ name: Name.optional(), url: z.string().max(2048) }).strict();
const EndpointsBody = z
	.object({ endpoints: z.array(Endpoint).min(1).max(100) })
	.strict()
	.openapi("QstashEndpoints");
/** Endpoints to remove: each named by its name, its url, or both. */
const EndpointRefsBody = z
	.object({
		endpoints: z
			.array(
				z
					.object({ name: Name.optional(), url: z.string().max(2048).optional() })
					.strict()
					.refine((e) => e.name !== undefined || e.url !== undefined, "give the endpoint's name or url"),
			)
			.min(1)
			.max(100),
	})
	.strict()
	.openapi("QstashEndpointRefs");
const UrlGroupSchema = z
	.object({
		name: z.string(),
		createdAt: z.number(),
		updatedAt: z.number(),
		endpoints: z.array(z.object({ name: z.string(), url: z.string() })),
	})
	.openapi("QstashUrlGroup");

/** Most groups `GET /v2/topics` lists (each costs a call per partition). */
const MAX_GROUPS_LISTED = 1000;

/** The subscription name of an endpoint: its own, or `ep-` + 12 hex digits of SHA-256(url). */
async function endpointName(endpoint: { name?: string; url: string }): Promise<string> {
	if (endpoint.name) return endpoint.name;
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint.url));
	return `ep-${Array.from(new Uint8Array(digest).subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function urlGroupJson(topic: TopicView, subs: SubscriptionView[]) {
	return {
		name: topic.name,
		createdAt: topic.createdAtMs,
		updatedAt: Math.max(topic.updatedAtMs, ...subs.map((s) => s.updatedAtMs)),
		endpoints: subs.filter((s) => s.type === "webhook").map((s) => ({ name: s.name, url: s.url as string })),
	};
}

async function urlGroup(env: HonoEnv["Bindings"], name: string) {
	const client = topicClient(env, name);
	const [topic, subs] = await Promise.all([client.admin.describe(), client.admin.listSubscriptions()]);
	return urlGroupJson(topic, subs);
}

/** Deletes a group's topic with its schedules and registry entry, as `DELETE /v1/topics/{topic}` does. */
async function deleteGroup(env: HonoEnv["Bindings"], name: string): Promise<boolean> {
	const deleted = await topicClient(env, name).admin.destroy();
	await scheduleStub(env).removeTopic(name);
	await registryStub(env).remove(name);
	return deleted;
}

export function urlGroupRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "post",
			path: "/v2/topics/{name}/endpoints",
			scope: "admin",
			tag: "qstash",
			summary: "Add endpoints to a URL group (created if missing)",
			description:
				"The group is the topic `name`; each endpoint becomes a webhook subscription named after the endpoint, or `ep-` + 12 hex digits of SHA-256(url). A URL already in the group is kept once. A name another subscription of the topic has (a `/v1` subscription, or an endpoint with another URL) answers 409 and adds nothing.",
			params: GroupParams,
			body: EndpointsBody,
			responses: { 200: { description: "added", schema: z.object({}) }, ...qstashErrors(400, 401, 409, 503) },
		},
		async (c, { params, body }) => {
			const client = topicClient(c.env, params.name);
			const configs = body.endpoints.map((e) => ({
				endpoint: e,
				config: toConfig({ type: "webhook", url: e.url }, c.env),
			}));
			const existing = await client.admin.listSubscriptions().catch((error: unknown) => {
				if (error instanceof AppError && error.code === "topic_not_found") return null;
				throw error;
			});
			// What to add, checked whole before anything is written: a URL already in the group is kept
			// once; a name that another subscription has (a /v1 one of any type, or an endpoint with
			// another URL) is refused, never replaced.
			const urls = new Set((existing ?? []).filter((s) => s.type === "webhook").map((s) => s.url));
			const what = (s: { type: string; url: string | null }) =>
				s.type === "webhook" ? `a webhook to ${s.url}` : `a ${s.type} subscription`;
			const taken = new Map((existing ?? []).map((s) => [s.name, what(s)]));
			const adds: { name: string; config: (typeof configs)[number]["config"] }[] = [];
			for (const { endpoint: e, config } of configs) {
				if (urls.has(config.url)) continue;
				const name = await endpointName(e);
				const other = taken.get(name);
				if (other) {
					throw new AppError(
						409,
						"conflict",
						`URL group "${params.name}" already has a subscription named "${name}" (${other}); remove it first or give the endpoint another name`,
					);
				}
				adds.push({ name, config });
				urls.add(config.url);
				taken.set(name, what({ type: "webhook", url: config.url }));
			}
			if (existing === null) {
				const created = await client.admin.put({ retentionMs: 7 * 86_400_000, partitions: null });
				await registryStub(c.env).add(params.name, created.topic.createdAtMs);
			}
			for (const a of adds) await client.admin.putSubscription(a.name, a.config);
			return c.json({});
		},
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v2/topics/{name}/endpoints",
			scope: "admin",
			tag: "qstash",
			summary: "Remove endpoints (by name or url) from a URL group; removing the last deletes the group",
			params: GroupParams,
			body: EndpointRefsBody,
			responses: { 200: { description: "removed", schema: z.object({}) }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params, body }) => {
			const client = topicClient(c.env, params.name);
			const subs = await client.admin.listSubscriptions();
			const gone = subs.filter(
				(s) => s.type === "webhook" && body.endpoints.some((e) => e.name === s.name || e.url === s.url),
			);
			for (const s of gone) await client.admin.deleteSubscription(s.name);
			const left = subs.filter((s) => s.type === "webhook" && !gone.includes(s));
			if (left.length === 0 && subs.every((s) => s.type === "webhook")) await deleteGroup(c.env, params.name);
			return c.json({});
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/topics",
			scope: "read",
			tag: "qstash",
			summary: "Every URL group (topic) with its endpoints",
			responses: { 200: { description: "groups", schema: z.array(UrlGroupSchema) }, ...qstashErrors(401, 503) },
		},
		async (c) => {
			const { topics } = await registryStub(c.env).list(null, MAX_GROUPS_LISTED);
			const groups = await Promise.all(
				topics.map((t) =>
					urlGroup(c.env, t.name).catch((error: unknown) => {
						// Deleted since the registry listed it.
						if (error instanceof AppError && error.code === "topic_not_found") return null;
						throw error;
					}),
				),
			);
			return c.json(groups.filter((g) => g !== null));
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/topics/{name}",
			scope: "read",
			tag: "qstash",
			summary: "One URL group",
			params: GroupParams,
			responses: { 200: { description: "the group", schema: UrlGroupSchema }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params }) => c.json(await urlGroup(c.env, params.name)),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v2/topics/{name}",
			scope: "admin",
			tag: "qstash",
			summary: "Delete a URL group (the topic and everything in it)",
			params: GroupParams,
			responses: { 200: { description: "deleted", schema: z.object({}) }, ...qstashErrors(400, 401, 404, 503) },
		},
		async (c, { params }) => {
			if (!(await deleteGroup(c.env, params.name))) throw new NotFound("topic_not_found", "URL group not found");
			return c.json({});
		},
	);
}
