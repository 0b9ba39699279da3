import { logEvent } from "../log";
import { formatInstant } from "../time";
import type { AttemptRecord, ExpiredLease } from "./store";

/** What a failed attempt's log lines say of it (a recorded push attempt, an expired lease, a nack). */
export interface AttemptFailure {
	subscription: string;
	messageId: string;
	attempt: number;
	status: number | null;
	error: string;
	/** When it is tried again; null: it went dead. */
	nextAtMs: number | null;
}

/** Logs a failed attempt, and its delivery going dead when it did (log.ts); after its transaction committed. */
export function logFailure(topic: string, f: AttemptFailure): void {
	logEvent({
		event: "attempt_failed",
		topic,
		subscription: f.subscription,
		message_id: f.messageId,
		attempt: f.attempt,
		status: f.status,
		error: f.error,
		next_attempt_at: f.nextAtMs === null ? null : formatInstant(f.nextAtMs),
	});
	if (f.nextAtMs !== null) return;
	logEvent({
		event: "delivery_dead",
		topic,
		subscription: f.subscription,
		message_id: f.messageId,
		attempts: f.attempt,
		status: f.status,
		error: f.error,
	});
}

/** A recorded attempt as a failure to log; null when it was delivered. */
export function recordedFailure(r: AttemptRecord, subscription: string): AttemptFailure | null {
	if (r.kind === "delivered") return null;
	return {
		subscription,
		messageId: r.messageId,
		attempt: r.attempt,
		status: r.status,
		error: r.error,
		nextAtMs: r.kind === "retry" ? r.nextAtMs : null,
	};
}

/** A lease that ended without an outcome, as a failure to log. */
export function expiredFailure(e: ExpiredLease, subscription: string): AttemptFailure {
	return {
		subscription,
		messageId: e.messageId,
		attempt: e.attempts,
		status: null,
		error: "lease expired without an outcome",
		nextAtMs: e.nextAtMs,
	};
}
