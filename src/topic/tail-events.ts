/**
 * What a partition reports to its topic's tail hub (src/tail/hub.ts), in milliseconds and sids'
 * names; the hub turns each into the documented JSON (src/tail/wire.ts). Never a body, a header, a
 * secret or a receipt.
 */

/** The attempt an event is about. */
interface AttemptRef {
	subscription: string;
	messageId: string;
	attempt: number;
}

/** One event a partition saw, as it hands it to the hub. */
export type TailRecord =
	| { type: "published"; atMs: number; messageId: string; deliverAtMs: number; key: string | null }
	| (AttemptRef & { type: "attempt_started"; atMs: number; dueAtMs: number })
	| (AttemptRef & {
			type: "attempt_ended";
			atMs: number;
			dueAtMs: number;
			startedAtMs: number;
			/** What the attempt leads to, before it is recorded (a cancel meanwhile discards it). */
			outcome: "delivered" | "retry" | "dead";
			status: number | null;
			error: string | null;
	  })
	| (AttemptRef & { type: "delivered"; atMs: number; status: number | null })
	| (AttemptRef & {
			type: "retry_scheduled";
			atMs: number;
			nextAttemptAtMs: number;
			status: number | null;
			error: string | null;
	  })
	| (AttemptRef & { type: "dead"; atMs: number; status: number | null; error: string | null })
	/** `count` events of this partition were not forwarded (the hub was slow or unreachable). */
	| { type: "dropped"; atMs: number; count: number }
	/** The topic was deleted: the hub closes its clients. */
	| { type: "topic_deleted"; atMs: number };

/** Every event type a partition reports. */
export type TailRecordType = TailRecord["type"];

/**
 * Until when a partition has listeners, as the hub decided at `version` (a later decision wins:
 * an answer that crossed a newer one on the way is ignored).
 */
export interface TailLease {
	untilMs: number;
	version: number;
}

/** No listeners. */
export const NO_LISTENERS: TailLease = { untilMs: 0, version: 0 };
