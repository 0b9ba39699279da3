/**
 * Structured logs (README "Metrics and logs"): one JSON line per notable event, on `console.log`,
 * where Workers Logs and `wrangler tail` index its fields. Each event has exactly the fields its type
 * names: never a token, a signing secret, a message body or a header's value. Nothing is logged per
 * successful delivery.
 */
export type LogEvent =
	/** An attempt failed; `next_attempt_at` is null when the delivery went dead with it. */
	| {
			event: "attempt_failed";
			topic: string;
			subscription: string;
			message_id: string;
			attempt: number;
			status: number | null;
			error: string;
			next_attempt_at: string | null;
	  }
	/** A delivery went dead: no attempt is left (it waits in the dead letters). */
	| {
			event: "delivery_dead";
			topic: string;
			subscription: string;
			message_id: string;
			attempts: number;
			status: number | null;
			error: string;
	  }
	/** An alarm run of a partition that attempted something: how many, how long, how many it carried past its end. */
	| {
			event: "alarm_run";
			topic: string;
			partition: number;
			attempts: number;
			duration_ms: number;
			carried: number;
	  };

const LEVELS: Record<LogEvent["event"], "info" | "warn" | "error"> = {
	attempt_failed: "warn",
	delivery_dead: "error",
	alarm_run: "info",
};

/** Longest `error` logged (an error text comes from a runtime's message and could be long). */
const MAX_ERROR_CHARS = 500;

/** Writes one event as one line of JSON. */
export function logEvent(e: LogEvent): void {
	const line =
		"error" in e && e.error.length > MAX_ERROR_CHARS ? { ...e, error: e.error.slice(0, MAX_ERROR_CHARS) } : e;
	console.log(JSON.stringify({ level: LEVELS[e.event], ...line }));
}
