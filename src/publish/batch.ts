import type { AppEnv } from "../config";
import { getConfig } from "../config";
import { AppError, TooLarge } from "../errors";
import { formatInstant } from "../time";
import { type PublishResult, topicClient } from "../topic/client";
import type { NewMessage } from "../topic/types";
import { normalizeMessage } from "./normalize";

/** What a publish answers per message (HTTP batch route and service binding alike). */
export type PublishReply =
	| { id: string; deliver_at: string; duplicate?: true }
	| { id?: string; error: { code: string; message: string; issues?: { path: string; message: string }[] } };

/** A stored message as a publish answers it, or the error of the partition that did not store it. */
export function publishReply(o: PublishResult): PublishReply {
	if ("error" in o) return { id: o.id, error: o.error };
	return o.duplicate
		? { id: o.id, deliver_at: formatInstant(o.deliverAtMs), duplicate: true }
		: { id: o.id, deliver_at: formatInstant(o.deliverAtMs) };
}

/**
 * Publishes a batch: each item validated on its own (an invalid one gets an `error` reply and does
 * not stop the others), the valid ones stored with one call per partition they route to; one
 * reply per item, in order (an item whose partition failed gets that error). Throws an AppError
 * for the whole batch: too many items, or an error every partition gave (e.g. an unknown topic,
 * also when no item was valid).
 */
export async function publishBatch(env: AppEnv, topic: string, items: readonly unknown[]): Promise<PublishReply[]> {
	const config = getConfig(env);
	if (items.length > config.maxBatchItems) {
		throw new TooLarge(
			"batch_too_large",
			`a batch holds at most ${config.maxBatchItems} messages, got ${items.length}`,
		);
	}
	const nowMs = Date.now();
	const replies: PublishReply[] = new Array(items.length);
	const valid: NewMessage[] = [];
	const slots: number[] = [];
	items.forEach((raw, index) => {
		try {
			valid.push(normalizeMessage(raw, config, nowMs, `[${index}]`));
			slots.push(index);
		} catch (error) {
			if (!(error instanceof AppError)) throw error;
			replies[index] = { error: error.toBody() };
		}
	});
	const topicOf = topicClient(env, topic);
	if (valid.length > 0) {
		const results = await topicOf.messages.publish(valid);
		results.forEach((o, i) => {
			replies[slots[i] as number] = publishReply(o);
		});
	} else {
		// Nothing valid to store, but an unknown topic is still topic_not_found, not a list of item errors.
		await topicOf.admin.partitions();
	}
	return replies;
}
