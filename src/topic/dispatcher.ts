import { afterFailure, classify } from "../delivery/classify";
import { MAX_CONCURRENT_DELIVERIES, runPool } from "../delivery/pool";
import { sendWebhook } from "../delivery/webhook";
import type { AttemptRecord, ClaimedDelivery, SubscriptionRow, TopicStore } from "./store";

/** Deliveries claimed per round: small enough to keep lateness low, big enough to batch SQL. */
export const CLAIM_BATCH = 48;
/** How long past an attempt's timeout a push lease lasts before the delivery is retried. */
export const LEASE_GRACE_MS = 2000;
/** Wall time one alarm run spends delivering before it re-arms and yields. */
export const ALARM_BUDGET_MS = 30_000;

/** What the dispatcher needs from its object. */
export interface DispatchDeps {
	store: TopicStore;
	topicName: string;
	subscriptions: () => Map<number, SubscriptionRow>;
	maxDeliveries: number;
	/** Moves the alarm to `atMs` (the crash safety net for leases just taken). */
	armAt: (atMs: number) => Promise<void>;
}

/** The lease a push attempt holds: its timeout plus grace. */
export function pushLeaseMs(sub: SubscriptionRow | undefined): number {
	return (sub?.config.timeoutMs ?? 30_000) + LEASE_GRACE_MS;
}

async function attempt(
	deps: DispatchDeps,
	subs: Map<number, SubscriptionRow>,
	d: ClaimedDelivery,
): Promise<AttemptRecord> {
	const sub = subs.get(d.sid);
	const key = { mid: d.mid, sid: d.sid, lease: d.lease };
	if (sub?.config.type !== "webhook" || !sub.config.url || !sub.secret) {
		return { kind: "dead", ...key, status: null, error: "subscription cannot be delivered to (no webhook url)" };
	}
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
	const nowMs = Date.now();
	const verdict = classify(result, nowMs);
	if (verdict.kind === "delivered") return { kind: "delivered", ...key, status: verdict.status, atMs: nowMs };
	const next = afterFailure(sub.config.retry, d.attempt, verdict.retryAfterMs, nowMs);
	return next.kind === "dead"
		? { kind: "dead", ...key, status: verdict.status, error: verdict.error }
		: { kind: "retry", ...key, status: verdict.status, error: verdict.error, nextAtMs: next.atMs };
}

/**
 * Delivers what is due in bounded rounds: claim a batch (one transaction), send it with at most
 * six requests in flight, record every outcome (one transaction). Returns how many attempts ran.
 */
export async function dispatchDue(deps: DispatchDeps): Promise<number> {
	const startedMs = Date.now();
	let attempts = 0;
	while (attempts < deps.maxDeliveries && Date.now() - startedMs < ALARM_BUDGET_MS) {
		const nowMs = Date.now();
		const subs = deps.subscriptions();
		let leaseEndMs = nowMs;
		const batch = deps.store.transaction(() =>
			deps.store.claimDue(nowMs, Math.min(CLAIM_BATCH, deps.maxDeliveries - attempts), (sid) => {
				const until = nowMs + pushLeaseMs(subs.get(sid));
				leaseEndMs = Math.max(leaseEndMs, until);
				return until;
			}),
		);
		if (batch.length === 0) break;
		await deps.armAt(leaseEndMs);
		const records = await runPool(batch, MAX_CONCURRENT_DELIVERIES, (d) => attempt(deps, subs, d));
		const doneMs = Date.now();
		deps.store.transaction(() => {
			for (const record of records) deps.store.recordAttempt(record, doneMs);
		});
		attempts += batch.length;
	}
	return attempts;
}
