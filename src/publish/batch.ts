import type { AppEnv } from "../config";
import { getConfig } from "../config";
import { AppError, TooLarge, unwrap } from "../errors";
import { topicStub } from "../http/stubs";
import { formatInstant } from "../time";
import type { NewMessage, PublishOutcome } from "../topic/types";
import { normalizeMessage } from "./normalize";

/** What a publish answers per message (HTTP batch route and service binding alike). */
export type PublishReply =
	| { id: string; deliver_at: string; duplicate?: true }
	| { error: { code: string; message: string; issues?: { path: string; message: string }[] } };

/** A stored message as a publish answers it. */
export function publishReply(o: PublishOutcome): { id: string; deliver_at: string; duplicate?: true } {
	return o.duplicate
		? { id: o.id, deliver_at: formatInstant(o.deliverAtMs), duplicate: true }
		: { id: o.id, deliver_at: formatInstant(o.deliverAtMs) };
}

/**
 * Publishes a batch: each item validated on its own (an invalid one gets an `error` reply and does
 * not stop the others), the valid ones stored in one call to the topic object; one reply per item,
 * in order. Throws an AppError for the whole batch: too many items, or an unknown topic (also when
 * no item was valid).
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
	if (valid.length > 0) {
		const outcomes = unwrap(await topicStub(env, topic).publish(valid));
		outcomes.forEach((o, i) => {
			replies[slots[i] as number] = publishReply(o);
		});
	} else {
		// Nothing valid to store, but an unknown topic is still topic_not_found, not a list of item errors.
		unwrap(await topicStub(env, topic).describe());
	}
	return replies;
}
