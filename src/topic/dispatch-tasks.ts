import { afterFailure, classify } from "../delivery/classify";
import {
	chunkForQueue,
	isQueueBinding,
	QUEUE_MESSAGE_MAX_BYTES,
	queueBytes,
	queueDelivery,
	sendToQueue,
} from "../delivery/queue";
import { sendWebhook } from "../delivery/webhook";
import { qstashTask } from "./dispatch-qstash";
import type { AttemptRecord, ClaimedDelivery, SubscriptionRow } from "./store";

/** What turning claims into requests needs from the object. */
export interface TaskDeps {
	topicName: string;
	/** The key `/v2` messages are signed with (null: not configured, they are not sent). */
	qstashKey: string | null;
	/** The Worker's bindings, where queue subscriptions find their producer. */
	bindings: Record<string, unknown>;
}

type Key = { mid: number; sid: number; lease: number; messageId: string; attempt: number };
const keyOf = (d: ClaimedDelivery): Key => ({
	mid: d.mid,
	sid: d.sid,
	lease: d.lease,
	messageId: d.messageId,
	attempt: d.attempt,
});

/**
 * Applies the one classification and the retry policy to an attempt's result; `startedMs` is when
 * its request left (its lateness is measured from the attempt's due time).
 */
function judge(
	sub: SubscriptionRow,
	d: ClaimedDelivery,
	result: Parameters<typeof classify>[0],
	startedMs: number,
): AttemptRecord {
	const nowMs = Date.now();
	const verdict = classify(result, nowMs);
	const ids = { ...keyOf(d), lateMs: startedMs - d.dueAtMs };
	if (verdict.kind === "delivered") return { kind: "delivered", ...ids, status: verdict.status, atMs: nowMs };
	const next = afterFailure(sub.config.retry, d.attempt, verdict.retryAfterMs, nowMs);
	return next.kind === "dead"
		? { kind: "dead", ...ids, status: verdict.status, error: verdict.error }
		: { kind: "retry", ...ids, status: verdict.status, error: verdict.error, nextAtMs: next.atMs };
}

async function webhookTask(deps: TaskDeps, sub: SubscriptionRow, d: ClaimedDelivery): Promise<AttemptRecord[]> {
	if (!sub.config.url || !sub.secret) {
		return [{ kind: "dead", ...keyOf(d), status: null, error: "subscription has no webhook url" }];
	}
	const startedMs = Date.now();
	const result = await sendWebhook({
		url: sub.config.url,
		secret: sub.secret,
		topic: deps.topicName,
		subscription: sub.name,
		messageId: d.messageId,
		attempt: d.attempt,
		deliverAtMs: d.deliverAtMs,
		body: d.body,
		contentType: d.contentType,
		requestId: d.requestId,
		messageHeaders: d.headers,
		subscriptionHeaders: sub.config.headers,
		timeoutMs: sub.config.timeoutMs,
	});
	return [judge(sub, d, result, startedMs)];
}

/** One request to make: not before `dueAtMs`. */
export interface Task {
	dueAtMs: number;
	/** The deliveries it attempts (one, or a queue batch's). */
	claims: readonly ClaimedDelivery[];
	run: () => Promise<AttemptRecord[]>;
}

/** Turns a round's claims into tasks: one per webhook attempt, one per queue sendBatch chunk. */
export function tasksFor(deps: TaskDeps, subs: Map<number, SubscriptionRow>, batch: ClaimedDelivery[]) {
	const tasks: Task[] = [];
	const immediate: AttemptRecord[] = [];
	const queued = new Map<number, { d: ClaimedDelivery; message: ReturnType<typeof queueDelivery> }[]>();
	for (const d of batch) {
		const sub = subs.get(d.sid);
		if (!sub) continue; // removed meanwhile: its deliveries are being dropped
		const options = d.options;
		// A /v2 message's own delivery applies to webhooks; queue and pull subscriptions of a URL group
		// receive it in their /v1 form.
		if (options?.kind === "qstash" && sub.config.type === "webhook") {
			tasks.push({
				dueAtMs: d.dueAtMs,
				claims: [d],
				run: async () => [await qstashTask(deps.qstashKey, deps.topicName, sub, { ...d, options })],
			});
			continue;
		}
		if (sub.config.type === "webhook") {
			tasks.push({ dueAtMs: d.dueAtMs, claims: [d], run: () => webhookTask(deps, sub, d) });
			continue;
		}
		const message = queueDelivery({ ...d, topic: deps.topicName, subscription: sub.name });
		if (queueBytes(message) > QUEUE_MESSAGE_MAX_BYTES) {
			immediate.push({ kind: "dead", ...keyOf(d), status: null, error: "message is over the 128 KB Queues limit" });
			continue;
		}
		const list = queued.get(d.sid) ?? [];
		list.push({ d, message });
		queued.set(d.sid, list);
	}
	for (const [sid, items] of queued) {
		const sub = subs.get(sid) as SubscriptionRow;
		const binding = deps.bindings[sub.config.queue ?? ""];
		for (const chunk of chunkForQueue(items, (i) => queueBytes(i.message))) {
			tasks.push({
				dueAtMs: Math.max(...chunk.map((i) => i.d.dueAtMs)),
				claims: chunk.map((i) => i.d),
				run: async () => {
					const startedMs = Date.now();
					const result = isQueueBinding(binding)
						? await sendToQueue(
								binding,
								chunk.map((i) => i.message),
							)
						: { kind: "error" as const, error: `the Worker has no queue binding "${sub.config.queue}"` };
					return chunk.map((i) => judge(sub, i.d, result, startedMs));
				},
			});
		}
	}
	return { tasks, immediate };
}
