import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../config";
import { MAX_KEY_PARALLELISM, MAX_KEY_RATE, parseKeyPeriodMs, queueOfKey } from "../../delivery/qstash-flow-control";
import { QstashHeaderError } from "../../delivery/qstash-header-error";
import { AppError, NotFound } from "../../errors";
import { registryStub } from "../../registry/client";
import { topicClient } from "../../topic/client";
import { ensureSystemTopic, SYSTEM_TOPIC } from "../../topic/client/system-topic";
import type { KeyChange } from "../../topic/key-limits";
import type { KeyLimitsView } from "../../topic/types";
import { endpoint } from "../endpoint";
import type { HonoEnv } from "../types";
import { eachLimited, MAX_TOPICS_SCANNED } from "./scan";
import { qstashErrors } from "./shared";

/**
 * QStash's flow-control API (QSTASH.md "Flow control, queues and callbacks") over key limits
 * (key-limits.ts). A key's messages live in the topic they were published to: URL publishes in the
 * system topic, URL-group publishes in the group's topic. So a key is read over those topics
 * (its counts summed) and changed in each that has it; the system topic always, so a key paused
 * before its first message holds that message.
 */

const KeyParams = z.object({
	key: z.string().regex(/^[\x20-\x7e]{1,256}$/, "a flow-control key is 1–256 printable ASCII characters"),
});

const FlowControlInfo = z
	.object({
		flowControlKey: z.string(),
		waitListSize: z.number(),
		parallelismMax: z.number(),
		parallelismCount: z.number(),
		rateMax: z.number(),
		rateCount: z.number(),
		ratePeriod: z.number().openapi({ description: "seconds" }),
		ratePeriodStart: z.number().openapi({ description: "unix ms" }),
		isPaused: z.boolean(),
		isPinned: z.boolean().openapi({ description: "either limit is pinned" }),
		isPinnedParallelism: z.boolean(),
		isPinnedRate: z.boolean(),
	})
	.openapi("FlowControlInfo");

/** The topics a key may live in: the system topic, then every other (a URL group is a topic). */
async function keyTopics(env: AppEnv): Promise<string[]> {
	const { topics } = await registryStub(env).list(null, MAX_TOPICS_SCANNED);
	return [SYSTEM_TOPIC, ...topics.map((t) => t.name)];
}

const missingTopic = (error: unknown) => error instanceof AppError && error.code === "topic_not_found";

/** The key's view in each topic that has limits for it. */
async function viewsOf(env: AppEnv, key: string): Promise<{ topic: string; view: KeyLimitsView }[]> {
	const views = await eachLimited(await keyTopics(env), async (topic) => {
		try {
			const view = await topicClient(env, topic).keys.get(key);
			return view ? { topic, view } : null;
		} catch (error) {
			if (missingTopic(error)) return null;
			throw error;
		}
	});
	return views.filter((v) => v !== null);
}

/** QStash's shape of a key's state, summed over the topics holding it. */
export function flowControlInfo(key: string, views: KeyLimitsView[]) {
	const first = views[0];
	const sum = (f: (v: KeyLimitsView) => number) => views.reduce((n, v) => n + f(v), 0);
	return {
		flowControlKey: key,
		waitListSize: sum((v) => v.waiting),
		parallelismMax: first?.parallelism ?? 0,
		parallelismCount: sum((v) => v.inFlight),
		rateMax: first?.rate?.limit ?? 0,
		rateCount: sum((v) => v.rateCount),
		ratePeriod: first?.rate ? first.rate.periodMs / 1000 : 0,
		ratePeriodStart: Math.min(...views.map((v) => v.ratePeriodStartMs ?? Date.now())),
		isPaused: views.some((v) => v.paused),
		isPinned: views.some((v) => v.pinned.parallelism || v.pinned.rate),
		isPinnedParallelism: views.some((v) => v.pinned.parallelism),
		isPinnedRate: views.some((v) => v.pinned.rate),
	};
}

/** Applies a change to the key in the system topic (created there if `create`) and every other topic holding it. */
async function changeKey(env: AppEnv, key: string, change: KeyChange, create: boolean): Promise<void> {
	const held = await viewsOf(env, key);
	const topics = new Set(held.map((h) => h.topic));
	if (create) {
		await ensureSystemTopic(env);
		topics.add(SYSTEM_TOPIC);
	}
	if (topics.size === 0) throw keyNotFound(key);
	await eachLimited([...topics], (topic) => topicClient(env, topic).keys.change(key, change));
}

const keyNotFound = (key: string) => new NotFound("not_found", `flow control key "${key}" not found`);

function intParam(name: string, text: string | undefined, max: number): number | undefined {
	if (text === undefined) return undefined;
	if (!/^\d{1,9}$/.test(text) || Number(text) < 1 || Number(text) > max) {
		throw new QstashHeaderError(name, `must be an integer from 1 to ${max}`);
	}
	return Number(text);
}

/** `/v2/flowControl…` and `/v2/globalParallelism`. */
export function flowControlRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "get",
			path: "/v2/flowControl",
			scope: "read",
			tag: "qstash",
			summary: "List flow-control keys (URL publishes and URL groups), in key order",
			responses: { 200: { description: "keys", schema: z.array(FlowControlInfo) }, ...qstashErrors(401, 503) },
		},
		async (c) => {
			const byKey = new Map<string, KeyLimitsView[]>();
			await eachLimited(await keyTopics(c.env), async (topic) => {
				try {
					for (const v of (await topicClient(c.env, topic).keys.list(null, 1000)).keys) {
						byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
					}
				} catch (error) {
					if (!missingTopic(error)) throw error;
				}
			});
			const keys = [...byKey.keys()].filter((k) => queueOfKey(k) === null).sort();
			return c.json(keys.map((k) => flowControlInfo(k, byKey.get(k) as KeyLimitsView[])));
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/flowControl/{key}",
			scope: "read",
			tag: "qstash",
			summary: "A flow-control key's limits and what it holds: waiting, in flight, rate used",
			params: KeyParams,
			responses: { 200: { description: "the key", schema: FlowControlInfo }, ...qstashErrors(401, 404, 503) },
		},
		async (c, { params }) => {
			const views = await viewsOf(c.env, params.key);
			if (views.length === 0) throw keyNotFound(params.key);
			return c.json(
				flowControlInfo(
					params.key,
					views.map((v) => v.view),
				),
			);
		},
	);

	const action = (
		name: "pause" | "resume" | "pin" | "unpin" | "resetRate",
		summary: string,
		query: z.ZodObject,
		changeOf: (q: Record<string, string | undefined>) => KeyChange,
		create: boolean,
	) =>
		endpoint(
			app,
			{
				method: "post",
				path: `/v2/flowControl/{key}/${name}`,
				scope: "admin",
				tag: "qstash",
				summary,
				params: KeyParams,
				query,
				responses: { 200: { description: "done", schema: z.object({}) }, ...qstashErrors(400, 401, 404, 503) },
			},
			async (c, { params, query }) => {
				await changeKey(c.env, params.key, changeOf(query as Record<string, string | undefined>), create);
				return c.json({});
			},
		);
	const none = z.object({});
	action(
		"pause",
		"Pause a key: nothing of it starts (new messages wait too)",
		none,
		() => ({ kind: "put", input: { paused: true } }),
		true,
	);
	action("resume", "Resume a paused key", none, () => ({ kind: "put", input: { paused: false } }), false);
	action(
		"pin",
		"Pin a key's parallelism and/or rate: messages no longer change them",
		z.object({ parallelism: z.string().optional(), rate: z.string().optional(), period: z.string().optional() }),
		(q) => {
			const parallelism = intParam("parallelism", q.parallelism, MAX_KEY_PARALLELISM);
			const limit = intParam("rate", q.rate, MAX_KEY_RATE);
			if (parallelism === undefined && limit === undefined) {
				throw new QstashHeaderError("pin", "give parallelism and/or rate");
			}
			// A period without a rate is checked and unused (the SDK allows it); a rate without one keeps the key's period.
			const periodMs = q.period === undefined ? undefined : parseKeyPeriodMs("period", q.period);
			return {
				kind: "put",
				pin: true,
				keepPeriod: periodMs === undefined,
				input: {
					...(parallelism !== undefined && { parallelism }),
					...(limit !== undefined && { rate: { limit, periodMs: periodMs ?? 1000 } }),
				},
			};
		},
		true,
	);
	action(
		"unpin",
		"Unpin a key's parallelism and/or rate: later messages set them again",
		z.object({ parallelism: z.enum(["true", "false"]).optional(), rate: z.enum(["true", "false"]).optional() }),
		(q) => ({ kind: "unpin", parallelism: q.parallelism === "true", rate: q.rate === "true" }),
		false,
	);
	action(
		"resetRate",
		"Start a new rate window now (the rate count drops to 0)",
		none,
		() => ({ kind: "resetRate" }),
		false,
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v2/globalParallelism",
			scope: "read",
			tag: "qstash",
			summary: "Attempts in flight over the system topic and URL groups (Sundial sets no global maximum: 0)",
			responses: {
				200: {
					description: "counts",
					schema: z.object({ parallelismMax: z.number(), parallelismCount: z.number() }),
				},
				...qstashErrors(401, 503),
			},
		},
		async (c) => {
			const counts = await eachLimited(await keyTopics(c.env), async (topic) => {
				try {
					return (await topicClient(c.env, topic).admin.describe()).counts.in_flight;
				} catch (error) {
					if (missingTopic(error)) return 0;
					throw error;
				}
			});
			return c.json({ parallelismMax: 0, parallelismCount: counts.reduce((a, b) => a + b, 0) });
		},
	);
}
