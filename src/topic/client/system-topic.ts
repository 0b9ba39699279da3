import type { AppEnv } from "../../config";
import { DEFAULT_RETRY } from "../../delivery/backoff";
import { QSTASH_MAX_TIMEOUT_MS } from "../../delivery/qstash-durations";
import { AppError } from "../../errors";
import type { NewMessage } from "../types";
import { type PublishResult, topicClient } from "./index";

/**
 * The reserved topic every `/v2` publish to a URL lands in (QSTASH.md "How it maps"). `~` is
 * outside the name rule, so no `/v1` request can address it and no user topic can collide.
 */
export const SYSTEM_TOPIC = "~qstash";
/** Its partitions: every URL publish of every user goes here, so no single object may carry it all. */
export const SYSTEM_TOPIC_PARTITIONS = 16;

/**
 * Stores a message in the system topic, creating the topic (and its one subscription, whose
 * deliveries each go to their message's own URL) on first use.
 */
export async function publishToSystemTopic(env: AppEnv, message: NewMessage): Promise<PublishResult> {
	try {
		return await publishOne(env, message);
	} catch (error) {
		const missing = error instanceof AppError && ["topic_not_found", "no_subscriptions"].includes(error.code);
		if (!missing) throw error;
	}
	await ensureSystemTopic(env);
	return publishOne(env, message);
}

/** Creates the system topic and its one subscription if they are missing (idempotent). */
export async function ensureSystemTopic(env: AppEnv): Promise<void> {
	const client = topicClient(env, SYSTEM_TOPIC);
	await client.admin
		.put({ retentionMs: 7 * 86_400_000, partitions: SYSTEM_TOPIC_PARTITIONS })
		.catch((error: unknown) => {
			// Created meanwhile by another request, maybe with another count: it is used as it is.
			if (!(error instanceof AppError && error.code === "partitions_fixed")) throw error;
		});
	await client.admin.putSubscription("url", {
		type: "webhook",
		url: null,
		headers: {},
		// A push lease must outlast the longest per-message timeout, or an attempt would be retried while in flight.
		timeoutMs: QSTASH_MAX_TIMEOUT_MS,
		queue: null,
		visibilityTimeoutMs: 30_000,
		retry: DEFAULT_RETRY,
		paused: false,
	});
}

/** Stores messages in the system topic (one call per partition), creating it on first use; results in order. */
export async function publishManyToSystemTopic(env: AppEnv, messages: NewMessage[]): Promise<PublishResult[]> {
	if (messages.length === 0) return [];
	try {
		return await topicClient(env, SYSTEM_TOPIC).messages.publish(messages);
	} catch (error) {
		const missing = error instanceof AppError && ["topic_not_found", "no_subscriptions"].includes(error.code);
		if (!missing) throw error;
	}
	await ensureSystemTopic(env);
	return topicClient(env, SYSTEM_TOPIC).messages.publish(messages);
}

async function publishOne(env: AppEnv, message: NewMessage): Promise<PublishResult> {
	const [result] = await topicClient(env, SYSTEM_TOPIC).messages.publish([message]);
	if (!result) throw new Error("publish returned no result");
	return result;
}
