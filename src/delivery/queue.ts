import { decodeBody } from "../media";
import { formatInstant } from "../time";
import type { AttemptResult } from "./classify";

/** What a queue subscription sends per message (DESIGN.md "What a consumer receives"). */
export interface QueueDelivery {
	id: string;
	topic: string;
	subscription: string;
	attempt: number;
	deliver_at: string;
	headers: Record<string, string>;
	body: unknown;
}

/** Cloudflare Queues limits: 128 KB per message, 100 messages / 256 KB per sendBatch (PLATFORM.md §7). */
export const QUEUE_MESSAGE_MAX_BYTES = 127_000;
const BATCH_MAX_MESSAGES = 100;
const BATCH_MAX_BYTES = 250_000;

/** Builds the queue message of one attempt; JSON bodies travel parsed, others as the string. */
export function queueDelivery(input: {
	messageId: string;
	topic: string;
	subscription: string;
	attempt: number;
	deliverAtMs: number;
	headers: Record<string, string>;
	body: string;
	contentType: string;
}): QueueDelivery {
	return {
		id: input.messageId,
		topic: input.topic,
		subscription: input.subscription,
		attempt: input.attempt,
		deliver_at: formatInstant(input.deliverAtMs),
		headers: input.headers,
		body: decodeBody(input.body, input.contentType),
	};
}

/** The size a queue counts for a JSON message (approximately its UTF-8 JSON text). */
export function queueBytes(message: QueueDelivery): number {
	return new TextEncoder().encode(JSON.stringify(message)).byteLength;
}

/** Splits messages into sendBatch calls within the count and size limits. */
export function chunkForQueue<T>(items: T[], bytesOf: (item: T) => number): T[][] {
	const chunks: T[][] = [];
	let current: T[] = [];
	let size = 0;
	for (const item of items) {
		const bytes = bytesOf(item);
		if (current.length > 0 && (current.length >= BATCH_MAX_MESSAGES || size + bytes > BATCH_MAX_BYTES)) {
			chunks.push(current);
			current = [];
			size = 0;
		}
		current.push(item);
		size += bytes;
	}
	if (current.length > 0) chunks.push(current);
	return chunks;
}

/** Sends one chunk with `sendBatch`; a resolved send is delivered for every message in it. Never throws. */
export async function sendToQueue(queue: Queue, messages: QueueDelivery[]): Promise<AttemptResult> {
	try {
		await queue.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })));
		return { kind: "sent" };
	} catch (error) {
		return { kind: "error", error: `queue send failed: ${error instanceof Error ? error.message : String(error)}` };
	}
}

/** True when `value` looks like a Queue producer binding. */
export function isQueueBinding(value: unknown): value is Queue {
	return (
		typeof value === "object" &&
		value !== null &&
		typeof (value as Queue).send === "function" &&
		typeof (value as Queue).sendBatch === "function"
	);
}
