import type { TailRecord } from "../topic/tail-events";

/**
 * The live tail's event format (docs/API.md "Live tail"): one JSON object per WebSocket message,
 * with a `type`. Every event has `type`, `topic`, `partition`, `subscription`, `message_id`,
 * `attempt` and `at` (null where they do not apply), then the fields of its type. Stable: fields are
 * only ever added.
 */

/** The subprotocol a tail client offers for this event format. */
export const TAIL_PROTOCOL = "sundial.tail.v1";

/** The subprotocols a WebSocket upgrade offers (`Sec-WebSocket-Protocol`, comma-separated). */
export function offeredProtocols(header: string | undefined): string[] {
	return (header ?? "")
		.split(",")
		.map((p) => p.trim())
		.filter((p) => p !== "");
}

/** The event types a client may ask for (`?types=`). */
export const TAIL_EVENT_TYPES = [
	"published",
	"attempt_started",
	"attempt_ended",
	"delivered",
	"retry_scheduled",
	"dead",
] as const;

/** An event type a client may filter on. */
export type TailEventType = (typeof TAIL_EVENT_TYPES)[number];

/** What one client asked for; null = everything. */
export interface TailFilter {
	subscriptions: string[] | null;
	types: TailEventType[] | null;
}

/** One event as a client receives it. */
export type TailEventJson = {
	type: string;
	topic: string;
	partition: number | null;
	subscription: string | null;
	message_id: string | null;
	attempt: number | null;
	at: string;
} & Record<string, unknown>;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Whether a client with `filter` gets this event. `dropped` and `topic_deleted` always pass (a
 * client must know what it missed and why it ends); events of no subscription (`published`) pass a
 * subscription filter.
 */
export function passes(filter: TailFilter, r: TailRecord): boolean {
	if (r.type === "dropped" || r.type === "topic_deleted") return true;
	if (filter.types && !filter.types.includes(r.type)) return false;
	if (filter.subscriptions && "subscription" in r && !filter.subscriptions.includes(r.subscription)) return false;
	return true;
}

/** The JSON a client receives for a partition's event. */
export function toWire(topic: string, partition: number, r: TailRecord): TailEventJson {
	const common = { type: r.type, topic, partition, at: iso(r.atMs) };
	switch (r.type) {
		case "published":
			return {
				...common,
				subscription: null,
				message_id: r.messageId,
				attempt: null,
				deliver_at: iso(r.deliverAtMs),
				key: r.key,
			};
		case "attempt_started":
			return {
				...common,
				...attemptOf(r),
				due_at: iso(r.dueAtMs),
				lateness_ms: r.atMs - r.dueAtMs,
			};
		case "attempt_ended":
			return {
				...common,
				...attemptOf(r),
				outcome: r.outcome,
				status: r.status,
				error: r.error,
				due_at: iso(r.dueAtMs),
				started_at: iso(r.startedAtMs),
				lateness_ms: r.startedAtMs - r.dueAtMs,
				duration_ms: r.atMs - r.startedAtMs,
			};
		case "delivered":
			return { ...common, ...attemptOf(r), status: r.status };
		case "retry_scheduled":
			return {
				...common,
				...attemptOf(r),
				next_attempt_at: iso(r.nextAttemptAtMs),
				status: r.status,
				error: r.error,
			};
		case "dead":
			return { ...common, ...attemptOf(r), status: r.status, error: r.error };
		case "dropped":
			return { ...common, subscription: null, message_id: null, attempt: null, count: r.count };
		case "topic_deleted":
			return { ...common, subscription: null, message_id: null, attempt: null };
	}
}

function attemptOf(r: { subscription: string; messageId: string; attempt: number }) {
	return { subscription: r.subscription, message_id: r.messageId, attempt: r.attempt };
}

/** The first event of every connection: the tail is live from here on. */
export function readyEvent(topic: string, partitions: number, filter: TailFilter, nowMs: number): TailEventJson {
	return {
		type: "ready",
		topic,
		partition: null,
		subscription: null,
		message_id: null,
		attempt: null,
		at: iso(nowMs),
		partitions,
		filter: { subscriptions: filter.subscriptions, types: filter.types },
	};
}
