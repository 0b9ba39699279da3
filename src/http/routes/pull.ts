import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { decodeBody } from "../../media";
import { formatInstant } from "../../time";
import { topicClient } from "../../topic/client";
import { durationBetween, Name } from "../../validation";
import { endpoint } from "../endpoint";
import { errors } from "../schemas";
import type { HonoEnv } from "../types";

const SubParams = z.object({ topic: Name, name: Name });
const Visibility = durationBetween(1000, 12 * 3_600_000, "visibility_timeout");
const Receipts = z.array(z.string().max(200)).min(1).max(100).openapi({ description: "1–100 receipts" });

const ReceiveBody = z
	.object({
		max: z.number().int().min(1).max(100).optional().openapi({ description: "1–100. @default 10" }),
		wait: durationBetween(0, 20_000, "wait").optional().openapi({ description: 'Long poll, up to "20s". @default 0' }),
		visibility_timeout: Visibility.optional().openapi({
			description: "Lease length, 1s–12h. @default the subscription's visibility_timeout",
		}),
	})
	.strict()
	.openapi("ReceiveRequest");

const PulledSchema = z
	.object({
		id: z.string(),
		receipt: z.string(),
		body: z.any(),
		headers: z.record(z.string(), z.string()),
		attempt: z.number(),
		deliver_at: z.string(),
	})
	.openapi("PulledMessage");

const ResultsSchema = z.object({ results: z.record(z.string(), z.boolean()) });

/** Pull consumers: receive (long poll), ack, nack, extend. */
export function pullRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/subscriptions/{name}/receive",
			scope: "consume",
			tag: "Pull consumers",
			summary: "Lease due messages (long poll)",
			description:
				"Returns at once when something is due; otherwise waits up to `wait` for a message to come due or be published, then answers with what it got (possibly nothing). Each message's `receipt` names this lease only. 409 on a subscription that is not of type pull.",
			params: SubParams,
			body: ReceiveBody,
			responses: {
				200: { description: "leased messages", schema: z.object({ messages: z.array(PulledSchema) }) },
				...errors(400, 401, 404, 409, 415),
			},
		},
		async (c, { params, body }) => {
			const messages = await topicClient(c.env, params.topic).pull.receive(params.name, {
				max: body.max ?? 10,
				waitMs: body.wait ?? 0,
				visibilityMs: body.visibility_timeout ?? null,
				signal: c.req.raw.signal,
				background: (work) => c.executionCtx.waitUntil(work),
			});
			return c.json({
				messages: messages.map((m) => ({
					id: m.id,
					receipt: m.receipt,
					body: decodeBody(m.body, m.contentType),
					headers: m.headers,
					attempt: m.attempt,
					deliver_at: formatInstant(m.deliverAtMs),
				})),
			});
		},
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/subscriptions/{name}/ack",
			scope: "consume",
			tag: "Pull consumers",
			summary: "Ack leased messages",
			description:
				"Per receipt: true when it named the current lease (now delivered), false when stale, forged or malformed.",
			params: SubParams,
			body: z.object({ receipts: Receipts }).strict().openapi("AckRequest"),
			responses: {
				200: { description: "per-receipt results", schema: ResultsSchema },
				...errors(400, 401, 404, 409, 415),
			},
		},
		async (c, { params, body }) =>
			c.json({ results: await topicClient(c.env, params.topic).pull.ack(params.name, body.receipts) }),
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/subscriptions/{name}/nack",
			scope: "consume",
			tag: "Pull consumers",
			summary: "Give leased messages back",
			description:
				"Scheduled again after `delay`, or after the subscription's backoff when omitted; the attempt counts, and at max_attempts the delivery is dead.",
			params: SubParams,
			body: z
				.object({ receipts: Receipts, delay: durationBetween(0, 12 * 3_600_000, "delay").optional() })
				.strict()
				.openapi("NackRequest"),
			responses: {
				200: { description: "per-receipt results", schema: ResultsSchema },
				...errors(400, 401, 404, 409, 415),
			},
		},
		async (c, { params, body }) =>
			c.json({
				results: await topicClient(c.env, params.topic).pull.nack(params.name, body.receipts, body.delay ?? null),
			}),
	);

	endpoint(
		app,
		{
			method: "post",
			path: "/v1/topics/{topic}/subscriptions/{name}/extend",
			scope: "consume",
			tag: "Pull consumers",
			summary: "Extend a lease",
			description:
				"The lease now ends `visibility_timeout` from now; the receipt stays valid. `extended: false` for a stale or forged receipt.",
			params: SubParams,
			body: z
				.object({ receipt: z.string().max(200), visibility_timeout: Visibility })
				.strict()
				.openapi("ExtendRequest"),
			responses: {
				200: {
					description: "result",
					schema: z.object({ receipt: z.string(), extended: z.boolean(), lease_expires_at: z.string().nullable() }),
				},
				...errors(400, 401, 404, 409, 415),
			},
		},
		async (c, { params, body }) => {
			const r = await topicClient(c.env, params.topic).pull.extend(params.name, body.receipt, body.visibility_timeout);
			return c.json({
				receipt: body.receipt,
				extended: r.extended,
				lease_expires_at: r.untilMs === null ? null : formatInstant(r.untilMs),
			});
		},
	);
}
