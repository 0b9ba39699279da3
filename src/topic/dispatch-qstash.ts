import { fromBase64, toBase64 } from "../base64";
import type { FetchOutcome } from "../delivery/attempt-fetch";
import { type CallbackSource, callbackBody } from "../delivery/qstash-callback";
import { dlqId, qstashMessageId } from "../delivery/qstash-ids";
import { storeResponse } from "../delivery/qstash-response";
import { nextQstashAttempt } from "../delivery/qstash-retry";
import { parseRetryDelayExpression } from "../delivery/qstash-retry-expression";
import { sendQstash } from "../delivery/qstash-webhook";
import type { AttemptRecord, ClaimedDelivery, SubscriptionRow, TopicStore } from "./store";
import type { CallbackDraft, CallbackTarget, DeliveryOptions } from "./types";

type QstashDelivery = ClaimedDelivery & { options: DeliveryOptions };

/**
 * The record of a `/v2` attempt: delivered on a 2xx, else QStash's retry rules (QSTASH.md
 * "Retries"); with the callbacks it triggers, written when (and only if) the record is.
 */
export async function qstashTask(
	key: string | null,
	topicName: string,
	sub: SubscriptionRow,
	d: QstashDelivery,
): Promise<AttemptRecord> {
	const o = d.options;
	const ids = { mid: d.mid, sid: d.sid, lease: d.lease, messageId: d.messageId, attempt: d.attempt };
	const url = o.url ?? sub.config.url;
	if (!url) return { kind: "dead", ...ids, status: null, error: "no destination url" };
	const body = o.bodyBase64 ? fromBase64(d.body) : new TextEncoder().encode(d.body);
	const startedMs = Date.now();
	const result: FetchOutcome = key
		? await sendQstash({
				url,
				method: o.method,
				body,
				contentType: o.contentType,
				forward: d.headers,
				messageId: qstashMessageId(o.topicName, d.messageId, sub.name),
				attempt: d.attempt,
				topicName: o.topicName,
				scheduleId: o.scheduleId ?? null,
				callerIp: o.callerIp,
				key,
				// A group endpoint's push lease follows its subscription's timeout: a longer attempt would be retried in flight.
				timeoutMs: o.url === null ? Math.min(o.timeoutMs, sub.config.timeoutMs) : o.timeoutMs,
			})
		: { kind: "error", error: "QStash signing keys are not configured: not sent unsigned" };
	const nowMs = Date.now();
	const record = judgeQstash(d, result, ids, nowMs);
	if (key) record.lateMs = startedMs - d.dueAtMs;
	// Keys missing: nothing was sent, so there is no attempt to report (and a callback could not be signed).
	if (!key || (!o.callback && !o.failureCallback)) return record;
	const source = sourceOf(sub, d, url, result);
	const callbacks: CallbackDraft[] = [];
	if (o.callback) callbacks.push(draft(o.callback, callbackBody(source), nowMs));
	if (o.failureCallback && record.kind === "dead") {
		const dead = { ...source, dlqId: dlqId(topicName, d.messageId, sub.name) };
		callbacks.push(draft(o.failureCallback, callbackBody(dead), nowMs));
	}
	return { ...record, callbacks };
}

/**
 * The failure callbacks of `/v2` deliveries whose lease expired into the DLQ (the instance that ran
 * their last attempt died; its outcome is unknown, reported as no answer). Run in the transaction
 * that marks them dead.
 */
export function leaseExpiredCallbacks(
	store: TopicStore,
	dead: readonly { mid: number; sid: number; attempts: number }[],
	subs: Map<number, SubscriptionRow>,
	topicName: string,
	nowMs: number,
): CallbackDraft[] {
	const drafts: CallbackDraft[] = [];
	for (const e of dead) {
		const sub = subs.get(e.sid);
		const row = sub ? store.callbackSourceOf(e.mid) : null;
		if (!sub || !row) continue;
		const options = JSON.parse(row.options as string) as DeliveryOptions;
		const url = options.url ?? sub.config.url;
		if (!options.failureCallback || !url) continue;
		const d = {
			messageId: row.id,
			body: row.body,
			headers: row.headers ? (JSON.parse(row.headers) as Record<string, string>) : {},
			attempt: e.attempts,
			deliverAtMs: row.deliver_at_ms,
			publishedAtMs: row.published_at_ms,
			options,
		};
		const source = sourceOf(sub, d, url, { kind: "error", error: "lease expired without an outcome" });
		const dead = { ...source, dlqId: dlqId(topicName, row.id, sub.name) };
		drafts.push(draft(options.failureCallback, callbackBody(dead), nowMs));
	}
	return drafts;
}

/** What a callback reports of an attempt and its message. */
function sourceOf(
	sub: SubscriptionRow,
	d: Pick<QstashDelivery, "messageId" | "body" | "headers" | "attempt" | "deliverAtMs" | "publishedAtMs" | "options">,
	url: string,
	outcome: FetchOutcome,
): CallbackSource {
	const o = d.options;
	return {
		outcome,
		attempt: d.attempt,
		maxRetries: o.retries,
		messageId: qstashMessageId(o.topicName, d.messageId, sub.name),
		topicName: o.topicName,
		endpointName: o.topicName !== null ? sub.name : null,
		url,
		method: o.method,
		headers: d.headers,
		bodyBase64: o.bodyBase64 ? d.body : toBase64(new TextEncoder().encode(d.body)),
		notBeforeMs: d.deliverAtMs,
		createdAtMs: d.publishedAtMs,
		scheduleId: o.scheduleId ?? null,
		callerIp: o.callerIp,
	};
}

/** Delivered on a 2xx, else a retry or dead by QStash's rules. */
function judgeQstash(
	d: QstashDelivery,
	result: FetchOutcome,
	ids: { mid: number; sid: number; lease: number; messageId: string; attempt: number },
	nowMs: number,
): AttemptRecord {
	const o = d.options;
	if (result.kind === "response" && result.status >= 200 && result.status < 300) {
		return { kind: "delivered", ...ids, status: result.status, atMs: nowMs };
	}
	const status = result.kind === "response" ? result.status : null;
	const error = result.kind === "response" ? `HTTP ${result.status}` : result.error;
	const next = nextQstashAttempt({
		attempt: d.attempt,
		retries: o.retries,
		response: result.kind === "response" ? { status: result.status, headers: result.headers } : null,
		expression: o.retryDelay ? parseRetryDelayExpression(o.retryDelay) : null,
		nowMs,
	});
	if (next.kind === "dead") {
		const why = next.reason === "non_retryable" ? `${error} (Upstash-NonRetryable-Error)` : error;
		return { kind: "dead", ...ids, status, error: why, response: storeResponse(result) };
	}
	return { kind: "retry", ...ids, status, error, nextAtMs: next.atMs, response: storeResponse(result) };
}

/**
 * A callback as a `/v2` URL message to its target (its id is chosen where it is stored). It
 * carries no callbacks of its own: a callback never triggers another.
 */
function draft(target: CallbackTarget, body: Record<string, unknown>, nowMs: number): CallbackDraft {
	return {
		body: JSON.stringify(body),
		contentType: "application/json",
		headers: target.forward,
		requestId: null,
		deliverAtMs: nowMs + target.delayMs,
		options: {
			kind: "qstash",
			url: target.url,
			method: target.method,
			contentType: "application/json",
			retries: target.retries,
			retryDelay: target.retryDelay,
			timeoutMs: target.timeoutMs,
			bodyBase64: false,
			topicName: null,
			callerIp: null,
			labels: [],
		},
	};
}
