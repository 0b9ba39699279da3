/**
 * What to do with Sundial's answer to one `publishBatch` call, decided here only. A message is
 * `stored` (stored now, or a duplicate: stored before, e.g. by a send whose answer was lost),
 * `refused` (bad input: it goes to the dead table, never blocking the rest), or `retry` (Sundial
 * could not take it now: the topic waits and tries again, its messages in order).
 */

import { messageOf, readPublishError } from "./publish-error";
import type { RefusalBody } from "./store";
import type { PublishReply } from "./types";

/** One message's fate. */
export type ItemOutcome =
	| { kind: "stored" }
	| { kind: "refused"; error: RefusalBody }
	| { kind: "retry"; error: string };

/** A whole call's fate when it threw. */
export type CallOutcome =
	| { kind: "retry"; error: string }
	| { kind: "refused"; error: RefusalBody }
	| { kind: "smaller_batch"; error: string };

/** Per-item error codes that mean "try again": the partition holding it did not answer, or the topic was being re-created. */
const TRANSIENT_ITEM_CODES = new Set(["partition_unavailable", "topic_changing"]);

/** Classifies one item of the answer. */
export function classifyReply(reply: PublishReply | undefined): ItemOutcome {
	if (typeof reply !== "object" || reply === null) return { kind: "retry", error: "no answer for this message" };
	if (!("error" in reply)) return { kind: "stored" };
	const error = reply.error;
	if (typeof error !== "object" || error === null || typeof error.code !== "string") {
		return { kind: "retry", error: "unreadable error in the answer" };
	}
	if (TRANSIENT_ITEM_CODES.has(error.code)) return { kind: "retry", error: `${error.code}: ${error.message}` };
	const body: RefusalBody = { code: error.code, message: String(error.message) };
	if (Array.isArray(error.issues)) body.issues = error.issues;
	return { kind: "refused", error: body };
}

/**
 * Classifies an error the call threw. The service binding's errors carry `code` and `status`
 * (readPublishError); one without them (the binding failed, Sundial is unreachable or was
 * redeployed) is retried. A 400 for the whole call refuses its messages; a 413 batch_too_large asks
 * for smaller batches; anything else (404 topic_not_found, 409, 5xx) waits and retries, so a topic
 * created later still gets its messages.
 */
export function classifyThrown(error: unknown): CallOutcome {
	const e = readPublishError(error);
	if (e === null) return { kind: "retry", error: messageOf(error) };
	const { code, status, message } = e;
	if (status === 413 && code === "batch_too_large") return { kind: "smaller_batch", error: `${code}: ${message}` };
	// The id is taken by a message with another key: sending it again cannot succeed (an older
	// Sundial threw this for a call whose every item had it; now it is each item's answer).
	if (status === 400 || (status === 409 && code === "id_conflict")) {
		const body: RefusalBody = { code, message };
		if (e.issues) body.issues = e.issues;
		return { kind: "refused", error: body };
	}
	return { kind: "retry", error: `${code}: ${message}` };
}
