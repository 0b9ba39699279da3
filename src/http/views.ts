import { z } from "@hono/zod-openapi";
import { decodeBody } from "../media";
import type { TopicEntry } from "../registry/object";
import { formatInstant } from "../time";
import type { DeadView, MessageSummary, MessageView, SubscriptionView, TopicView } from "../topic/types";

const instant = (ms: number | null) => (ms === null ? null : formatInstant(ms));
const Time = z.string().openapi({ example: "2026-12-01T09:00:00.000Z" });

const Counts = z.object({ scheduled: z.number(), in_flight: z.number(), delivered: z.number(), dead: z.number() });

export const TopicSchema = z
	.object({
		name: z.string(),
		retention_ms: z.number(),
		partitions: z.number(),
		created_at: Time,
		updated_at: Time,
		subscriptions: z.number(),
		messages: z.number(),
		counts: Counts.extend({ cancelled: z.number() }),
		published_total: z.number().openapi({
			description: "messages ever published to the topic (a duplicate id refused is not counted), cumulative",
		}),
		delivered_total: z.number().openapi({
			description: "attempts delivered, cumulative, summed over the current subscriptions",
		}),
	})
	.openapi("Topic");

export function topicJson(t: TopicView) {
	return {
		name: t.name,
		retention_ms: t.retentionMs,
		partitions: t.partitions,
		created_at: formatInstant(t.createdAtMs),
		updated_at: formatInstant(t.updatedAtMs),
		subscriptions: t.subscriptions,
		messages: t.messages,
		counts: t.counts,
		published_total: t.publishedTotal,
		delivered_total: t.deliveredTotal,
	};
}

export const TopicListSchema = z
	.object({ topics: z.array(z.object({ name: z.string(), created_at: Time })), next_cursor: z.string().nullable() })
	.openapi("TopicList");

export function topicEntryJson(t: TopicEntry) {
	return { name: t.name, created_at: formatInstant(t.createdAtMs) };
}

export const SubscriptionSchema = z
	.object({
		name: z.string(),
		type: z.enum(["webhook", "queue", "pull"]),
		url: z.string().nullable(),
		headers: z.record(z.string(), z.string()),
		timeout_ms: z.number().nullable(),
		queue: z.string().nullable(),
		visibility_timeout_ms: z.number().nullable(),
		retry: z.object({
			max_attempts: z.number(),
			backoff: z.enum(["exponential", "linear", "fixed"]),
			base_ms: z.number(),
			max_ms: z.number(),
			jitter: z.boolean(),
		}),
		paused: z.boolean(),
		rate: z.object({ limit: z.number(), period_ms: z.number() }).nullable(),
		parallelism: z.number().nullable(),
		ordering: z.enum(["key"]).nullable(),
		created_at: Time,
		updated_at: Time,
		counts: Counts,
		oldest_due_lag_ms: z.number(),
		held_back: z
			.object({ isolation: z.number(), parallelism: z.number(), rate: z.number() })
			.openapi({ description: "deliveries due now that a limit holds back, by the limit that binds" }),
	})
	.openapi("Subscription");

export function subscriptionJson(s: SubscriptionView) {
	const push = s.type === "webhook";
	return {
		name: s.name,
		type: s.type,
		url: s.url,
		headers: s.headers,
		timeout_ms: push ? s.timeoutMs : null,
		queue: s.queue,
		visibility_timeout_ms: s.type === "pull" ? s.visibilityTimeoutMs : null,
		retry: {
			max_attempts: s.retry.maxAttempts,
			backoff: s.retry.backoff,
			base_ms: s.retry.baseMs,
			max_ms: s.retry.maxMs,
			jitter: s.retry.jitter,
		},
		paused: s.paused,
		rate: s.rate ? { limit: s.rate.limit, period_ms: s.rate.periodMs } : null,
		parallelism: s.parallelism ?? null,
		ordering: s.ordering ?? null,
		created_at: formatInstant(s.createdAtMs),
		updated_at: formatInstant(s.updatedAtMs),
		counts: s.counts,
		oldest_due_lag_ms: s.oldestDueLagMs,
		held_back: s.heldBack,
	};
}

export const PublishResultSchema = z
	.object({ id: z.string(), deliver_at: Time, duplicate: z.boolean().optional() })
	.openapi("PublishResult");

const FailedAttemptSchema = z
	.object({
		attempt: z.number().openapi({ description: "1-based; a redrive starts again at 1" }),
		at: Time.openapi({ description: "when the failure was recorded" }),
		outcome: z.enum(["retry", "dead"]).openapi({ description: "`retry`: scheduled again; `dead`: went dead" }),
		status: z.number().nullable().openapi({ description: "the receiver's HTTP status; null when none came" }),
		error: z.string().nullable(),
	})
	.openapi("FailedAttempt");

export const MessageSchema = z
	.object({
		id: z.string(),
		body: z.any(),
		content_type: z.string(),
		headers: z.record(z.string(), z.string()),
		request_id: z.string().nullable(),
		key: z.string().nullable(),
		deliver_at: Time,
		published_at: Time,
		deliveries: z.array(
			z.object({
				subscription: z.string(),
				state: z.enum(["scheduled", "in_flight", "delivered", "dead", "cancelled"]),
				attempts: z.number(),
				next_attempt_at: Time.nullable(),
				last_status: z.number().nullable(),
				last_error: z.string().nullable(),
				delivered_at: Time.nullable(),
				history: z.array(FailedAttemptSchema).openapi({
					description:
						"The delivery's failed attempts, oldest first: at most the last 20 (a delivered attempt shows in `delivered_at` and `last_status`)",
				}),
			}),
		),
	})
	.openapi("Message");

export function messageJson(m: MessageView) {
	return {
		id: m.id,
		body: decodeBody(m.body, m.contentType),
		content_type: m.contentType,
		headers: m.headers,
		request_id: m.requestId,
		key: m.key,
		deliver_at: formatInstant(m.deliverAtMs),
		published_at: formatInstant(m.publishedAtMs),
		deliveries: m.deliveries.map((d) => ({
			subscription: d.subscription,
			state: d.state,
			attempts: d.attempts,
			next_attempt_at: instant(d.nextAttemptAtMs),
			last_status: d.lastStatus,
			last_error: d.lastError,
			delivered_at: instant(d.deliveredAtMs),
			history: d.history.map((h) => ({
				attempt: h.attempt,
				at: formatInstant(h.atMs),
				outcome: h.outcome,
				status: h.status,
				error: h.error,
			})),
		})),
	};
}

export const MessageSummarySchema = z
	.object({
		id: z.string(),
		content_type: z.string(),
		request_id: z.string().nullable(),
		key: z.string().nullable(),
		deliver_at: Time,
		published_at: Time,
		deliveries: z.array(
			z.object({
				subscription: z.string(),
				state: z.enum(["scheduled", "in_flight", "delivered", "dead", "cancelled"]),
				attempts: z.number(),
			}),
		),
	})
	.openapi("MessageSummary");

export function messageSummaryJson(m: MessageSummary) {
	return {
		id: m.id,
		content_type: m.contentType,
		request_id: m.requestId,
		key: m.key,
		deliver_at: formatInstant(m.deliverAtMs),
		published_at: formatInstant(m.publishedAtMs),
		deliveries: m.deliveries,
	};
}

export const DeadSchema = z
	.object({
		message_id: z.string(),
		subscription: z.string(),
		attempts: z.number(),
		last_status: z.number().nullable(),
		last_error: z.string().nullable(),
		dead_at: Time,
	})
	.openapi("DeadDelivery");

export function deadJson(d: DeadView) {
	return {
		message_id: d.messageId,
		subscription: d.subscription,
		attempts: d.attempts,
		last_status: d.lastStatus,
		last_error: d.lastError,
		dead_at: formatInstant(d.deadAtMs),
	};
}
