import { fromBase64 } from "../base64";
import { qstashMessageId } from "../delivery/qstash-ids";
import { storeResponse } from "../delivery/qstash-response";
import { nextQstashAttempt } from "../delivery/qstash-retry";
import { parseRetryDelayExpression } from "../delivery/qstash-retry-expression";
import { sendQstash } from "../delivery/qstash-webhook";
import type { AttemptRecord, ClaimedDelivery, SubscriptionRow } from "./store";
import type { DeliveryOptions } from "./types";

/** The record of a `/v2` attempt: delivered on a 2xx, else QStash's retry rules (QSTASH.md "Retries"). */
export async function qstashTask(
	key: string | null,
	sub: SubscriptionRow,
	d: ClaimedDelivery & { options: DeliveryOptions },
): Promise<AttemptRecord> {
	const o = d.options;
	const ids = { mid: d.mid, sid: d.sid, lease: d.lease };
	const url = o.url ?? sub.config.url;
	if (!url) return { kind: "dead", ...ids, status: null, error: "no destination url" };
	const result = key
		? await sendQstash({
				url,
				method: o.method,
				body: o.bodyBase64 ? fromBase64(d.body) : new TextEncoder().encode(d.body),
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
		: ({ kind: "error", error: "QStash signing keys are not configured: not sent unsigned" } as const);
	const nowMs = Date.now();
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
