/**
 * What the outbox needs of Sundial: the `publishBatch` method of its `PublishEntrypoint`, reached
 * through a service binding (`services = [{ binding = "SUNDIAL", service = "sundial",
 * entrypoint = "PublishEntrypoint" }]`). Declare your binding with this type.
 */
export interface SundialPublisher {
	publishBatch(topic: string, messages: unknown[]): Promise<PublishReply[]>;
}

/** One item of Sundial's batch answer: stored, a duplicate of a stored id, or refused. */
export type PublishReply =
	| { id: string; deliver_at: string; duplicate?: true }
	| { id?: string; error: { code: string; message: string; issues?: { path: string; message: string }[] } };

/** A message as Sundial's publish takes it (README "Publishing"); the outbox stores it as given but for `delay`. */
export interface OutboxMessage {
	/** Any JSON value; a string when `content_type` is not JSON. Required. */
	body: unknown;
	/**
	 * Wait before delivery, counted from `publish()` (your transaction), not from when the outbox
	 * reaches Sundial: seconds or a duration ("250ms", "30s", "5m", "2h", "7d", "1h30m"). The outbox
	 * turns it into `deliver_at`, so a message that waited in the outbox is not delayed twice.
	 */
	delay?: number | string;
	/** Due instant: RFC 3339 or unix seconds. Exclusive with `delay`; neither means now. */
	deliver_at?: string | number;
	/** The message id at Sundial; generated when left out. A re-sent id is a duplicate there. */
	id?: string;
	/** Custom headers for the consumer. */
	headers?: Record<string, string>;
	/** Sent to the consumer as `x-request-id`. */
	request_id?: string;
	/** Flow-control / ordering key. */
	key?: string;
	/** Media type of the delivered body. @default "application/json" */
	content_type?: string;
}

/** Options of the outbox. */
export interface OutboxOptions {
	/** Most messages per `publishBatch` call (Sundial accepts up to `SUNDIAL_MAX_BATCH`, 1000 by default). @default 100 */
	batchSize?: number;
	/** Most `publishBatch` calls in one `alarm()`; more work re-arms the alarm at once. @default 20 */
	maxCallsPerAlarm?: number;
	/** First wait after a failed send to a topic; doubles per failure. @default 1000 */
	minBackoffMs?: number;
	/** Longest wait between sends while Sundial does not take a topic's messages. @default 300000 */
	maxBackoffMs?: number;
}

/** The outbox's state, for a status route or a health check. */
export interface OutboxStats {
	/** Messages waiting to be sent. */
	pending: number;
	/** Messages Sundial refused as bad input (see `dead()`). */
	dead: number;
	/** Topics with waiting messages (at most 100, the ones due first). */
	topics: OutboxTopicState[];
}

/** One topic's forwarding state. */
export interface OutboxTopicState {
	topic: string;
	/** When the outbox next sends this topic's messages (unix ms). */
	nextAttemptAtMs: number;
	/** Failed sends since the last success. */
	failures: number;
	/** Why the last send failed, or null. */
	lastError: string | null;
}

/** A message Sundial refused as bad input, kept with the reason. */
export interface DeadMessage {
	/** Its place in the dead table: pass it as `after` for the next page. */
	seq: number;
	id: string;
	topic: string;
	/** The message as it was sent. */
	message: OutboxMessage;
	error: { code: string; message: string; issues?: { path: string; message: string }[] };
	/** When it was published (unix ms). */
	publishedAtMs: number;
	/** When Sundial refused it (unix ms). */
	deadAtMs: number;
}
