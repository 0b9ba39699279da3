import type { RetryPolicy } from "../delivery/backoff";

/** The life of one delivery (message × subscription); mirrored by a SQL CHECK in schema.ts. */
export type DeliveryState = "scheduled" | "in_flight" | "delivered" | "dead" | "cancelled";

/** Every delivery state, in lifecycle order. */
export const DELIVERY_STATES: readonly DeliveryState[] = ["scheduled", "in_flight", "delivered", "dead", "cancelled"];

/** How a subscription receives its messages. */
export type SubscriptionType = "webhook" | "queue" | "pull";

/** A subscription's stored configuration (the secret is kept apart). */
export interface SubscriptionConfig {
	type: SubscriptionType;
	/** Webhook target (webhook only). */
	url: string | null;
	/** Extra headers sent with every webhook delivery. */
	headers: Record<string, string>;
	/** Per-attempt webhook timeout. @default 30000 */
	timeoutMs: number;
	/** Producer binding name (queue only). */
	queue: string | null;
	/** Lease length for pull consumers. @default 30000 */
	visibilityTimeoutMs: number;
	retry: RetryPolicy;
	/** Paused subscriptions keep their deliveries scheduled. @default false */
	paused: boolean;
	/** "key": one message per key at a time, in due order then publish order. @default null */
	ordering?: "key" | null;
	/** At most `limit` attempts start in any window of `periodMs` (sliding), topic-wide; push only. */
	rate?: { limit: number; periodMs: number } | null;
	/** At most this many attempts in flight, topic-wide; push only. */
	parallelism?: number | null;
}

/** A subscription as the API shows it. */
export interface SubscriptionView extends SubscriptionConfig {
	name: string;
	createdAtMs: number;
	updatedAtMs: number;
	counts: Record<"scheduled" | "in_flight" | "delivered" | "dead", number>;
	oldestDueLagMs: number;
	/** Deliveries due now that a limit holds back, by the limit that binds (summed over partitions). */
	heldBack: Record<"isolation" | "parallelism" | "rate", number>;
}

/** Topic configuration as stored in each of its partition objects. */
export interface TopicConfig {
	name: string;
	retentionMs: number;
	/** How many partitions the topic has, 1–64, fixed at creation. */
	partitions: number;
	/** Which partition this object is, 0 to partitions − 1. */
	partition: number;
	createdAtMs: number;
	updatedAtMs: number;
}

/** A topic with its totals. */
export interface TopicView extends TopicConfig {
	subscriptions: number;
	messages: number;
	counts: Record<DeliveryState, number>;
	/** Messages ever published (stored; a duplicate id refused is not), cumulative. */
	publishedTotal: number;
	/** Attempts delivered, cumulative, over the current subscriptions (their `delivered` outcome counters). */
	deliveredTotal: number;
}

/** A message ready to store: validated and normalised by the Worker. */
export interface NewMessage {
	id: string;
	/** The exact bytes delivered: JSON text of `body`, or the string for non-JSON content types. */
	body: string;
	contentType: string;
	headers: Record<string, string>;
	requestId: string | null;
	deliverAtMs: number;
	/** How this message is delivered when it differs from its subscriptions (a `/v2` publish). */
	options?: DeliveryOptions;
	/** Its ordering key: all messages of a key live in one partition, delivered in order by `ordering: "key"` subscriptions. */
	key?: string | null;
	/** What the message sets of its key's limits (a `/v2` flow-control value or queue), applied as it is stored. */
	keyLimits?: MessageKeyLimits;
}

/** A rate: at most `limit` attempts start in any window of `periodMs`. */
export interface Rate {
	limit: number;
	periodMs: number;
}

/**
 * What a published message sets of its key's limits: a flow-control value (the newest message's
 * values win unless pinned), or membership of a `/v2` queue (created with parallelism 1 if new).
 */
export type MessageKeyLimits = { kind: "flow"; parallelism: number | null; rate: Rate | null } | { kind: "queue" };

/** A key's limits as the API sets them; a field left out keeps its value. */
export interface KeyLimitsInput {
	parallelism?: number | null;
	rate?: Rate | null;
	paused?: boolean;
}

/** A key's limits and what they hold back now (key-limits.ts). */
export interface KeyLimitsView {
	key: string;
	parallelism: number | null;
	rate: Rate | null;
	paused: boolean;
	/** A `/v2` queue: its first `parallelism` open messages go, in order. */
	fifo: boolean;
	/** Limits set by pin: messages do not change them. */
	pinned: { parallelism: boolean; rate: boolean };
	/** Open messages of the key not in flight. */
	waiting: number;
	inFlight: number;
	/** Attempts started in the current rate window. */
	rateCount: number;
	/** Where the current rate window starts (its oldest start counted), or null without a rate. */
	ratePeriodStartMs: number | null;
	createdAtMs: number;
	updatedAtMs: number;
}

/**
 * A `/v2` (QStash) message's own delivery: its destination and settings replace the
 * subscription's; it is signed with the QStash JWT and retried by QStash's rules (QSTASH.md).
 */
export interface DeliveryOptions {
	kind: "qstash";
	/** The destination; null = the subscription's URL (a URL-group publish). */
	url: string | null;
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	/** Null: no content-type is sent. */
	contentType: string | null;
	/** Retries after the first attempt (QStash's `Upstash-Retries`). */
	retries: number;
	/** `Upstash-Retry-Delay` source, or null for QStash's default backoff. */
	retryDelay: string | null;
	timeoutMs: number;
	/** The body is base64 of the raw bytes (they were not UTF-8). */
	bodyBase64: boolean;
	topicName: string | null;
	/** The `/v2` schedule that published it (sent as `Upstash-Schedule-Id`). */
	scheduleId?: string | null;
	callerIp: string | null;
	labels: string[];
	/** `Upstash-Callback`: after every attempt, a callback message with its outcome. @default null */
	callback?: CallbackTarget | null;
	/** `Upstash-Failure-Callback`: once, when the delivery goes dead (to the DLQ). @default null */
	failureCallback?: CallbackTarget | null;
}

/**
 * Where and how a `/v2` callback is delivered (`Upstash-Callback-*` / `Upstash-Failure-Callback-*`).
 * The callback is a `/v2` URL message of its own, published with these settings.
 */
export interface CallbackTarget {
	url: string;
	/** `-Method`. @default "POST" */
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	/** `-Retries`. @default 3 */
	retries: number;
	/** `-Retry-Delay` source, or null for QStash's default backoff. */
	retryDelay: string | null;
	/** `-Timeout`. @default 30000 */
	timeoutMs: number;
	/** `-Delay`: the callback is due this long after the attempt ended. @default 0 */
	delayMs: number;
	/** `-Forward-X: v`, delivered as `X: v`. */
	forward: Record<string, string>;
}

/** What publishing one message did. */
export interface PublishOutcome {
	id: string;
	deliverAtMs: number;
	duplicate: boolean;
	/**
	 * Not stored: the id is claimed here for a keyed message stored in another partition, or a message
	 * with another key (or none) has it (then `duplicate` is true as well). The client answers 409.
	 */
	conflict?: true;
}

/** A failed attempt of one delivery, as message detail shows it (schema v10 keeps the last 20). */
export interface FailedAttempt {
	/** Its number (1-based; a redrive starts again at 1). */
	attempt: number;
	/** When its failure was recorded. */
	atMs: number;
	/** `retry`: scheduled again; `dead`: the delivery went dead. */
	outcome: "retry" | "dead";
	status: number | null;
	error: string | null;
}

/** One delivery of a message, as message detail shows it. */
export interface DeliveryView {
	subscription: string;
	state: DeliveryState;
	attempts: number;
	nextAttemptAtMs: number | null;
	lastStatus: number | null;
	lastError: string | null;
	deliveredAtMs: number | null;
	/** Its failed attempts, oldest first: the last 20 (schema v10's trigger keeps no more). */
	history: FailedAttempt[];
}

/** A stored message with its deliveries. */
export interface MessageView {
	id: string;
	body: string;
	contentType: string;
	headers: Record<string, string>;
	requestId: string | null;
	deliverAtMs: number;
	publishedAtMs: number;
	/** The message's own delivery (a /v2 publish), or null. */
	options: DeliveryOptions | null;
	/** Its ordering key, or null. */
	key: string | null;
	deliveries: DeliveryView[];
}

/** A message in a list, with each subscription's delivery state (no body). */
export interface MessageSummary {
	/** The message's row in its partition: its place in list order (not shown to clients). */
	mid: number;
	id: string;
	contentType: string;
	requestId: string | null;
	key: string | null;
	deliverAtMs: number;
	publishedAtMs: number;
	deliveries: { subscription: string; state: DeliveryState; attempts: number }[];
}

/** A dead delivery as the dead-letter list shows it. */
export interface DeadView {
	/** The message's row in its partition: its place in list order (not shown to clients). */
	mid: number;
	messageId: string;
	subscription: string;
	attempts: number;
	lastStatus: number | null;
	lastError: string | null;
	deadAtMs: number;
}

/** The code of a call refused because it was routed with another partition count than the topic has. */
export const STALE_ROUTE = "stale_route";

/** How the Worker routed a call: with this partition count (a partition of another count refuses it). */
export interface Route {
	partitions: number;
}

/** Filters of the message list as the Worker passes them. */
export interface MessageQuery {
	state: DeliveryState | null;
	subscription: string | null;
	fromMs: number | null;
	toMs: number | null;
	before: [number, number] | null;
	limit: number;
}

/** A `/v2` callback to store: a URL message, its id chosen where it is stored (callback-outbox.ts). */
export type CallbackDraft = Omit<NewMessage, "id">;

/** Takes the callbacks of recorded attempts, inside the transaction that records them. */
export interface CallbackSink {
	write(drafts: readonly CallbackDraft[], nowMs: number): void;
}
