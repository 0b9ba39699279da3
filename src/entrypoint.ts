import { WorkerEntrypoint } from "cloudflare:workers";
import { type AppEnv, getConfig } from "./config";
import { AppError, InvalidRequest } from "./errors";
import { type PublishReply, publishBatch } from "./publish/batch";
import { normalizeMessage } from "./publish/normalize";
import { formatInstant } from "./time";
import { topicClient } from "./topic/client";
import { NAME_PATTERN } from "./validation";

/** What a publish over the service binding answers, per message. */
export type { PublishReply };

/**
 * What the binding's methods throw: an Error with `code` (e.g. "invalid_request", "topic_not_found"),
 * `status` (the HTTP status the API would answer) and `issues` (bad fields) as own properties. RPC
 * may drop own properties of errors (Cloudflare's RPC docs; measured across two `wrangler dev`
 * processes), but keeps the message, so the message carries them too, in a fixed form:
 * `<code> (<status>): <message>`, then, for bad fields, a line `issues: <JSON array>`.
 * `readPublishError` of sundial-outbox reads either.
 */
export interface PublishError extends Error {
	code: string;
	status: number;
	issues?: { path: string; message: string }[];
}

/** The message of a thrown PublishError: code and status first, the issues on a line of their own. */
export function publishErrorMessage(e: Pick<AppError, "code" | "status" | "message" | "issues">): string {
	// One line (a message may quote the caller's input), so the issues line is always the last.
	const head = `${e.code} (${e.status}): ${e.message.replace(/[\r\n]+/g, " ")}`;
	return e.issues && e.issues.length > 0 ? `${head}\nissues: ${JSON.stringify(e.issues)}` : head;
}

function checkTopic(topic: string): void {
	if (typeof topic !== "string" || !NAME_PATTERN.test(topic)) {
		throw new InvalidRequest(`invalid topic name "${String(topic)}"`, [{ path: "topic", message: "not a topic name" }]);
	}
}

/**
 * Rethrows an AppError as a plain Error carrying its code, status and issues, in its message and as
 * own properties (class identity does not survive RPC; own properties may not).
 */
function typed(error: unknown): never {
	if (!(error instanceof AppError)) throw error;
	const plain = new Error(publishErrorMessage(error)) as PublishError;
	plain.code = error.code;
	plain.status = error.status;
	if (error.issues) plain.issues = error.issues;
	throw plain;
}

/**
 * Publishing for other Workers on the same account, over a service binding (no HTTP, no token):
 * `services = [{ binding = "SUNDIAL", service = "sundial", entrypoint = "PublishEntrypoint" }]`.
 * Messages take the same fields as the HTTP API; errors are PublishErrors.
 */
export class PublishEntrypoint extends WorkerEntrypoint<AppEnv> {
	/** Publishes one message. */
	async publish(topic: string, message: unknown): Promise<{ id: string; deliver_at: string; duplicate: boolean }> {
		try {
			checkTopic(topic);
			const normalized = normalizeMessage(message, getConfig(this.env), Date.now());
			const stored = await topicClient(this.env, topic).messages.publishOne(normalized);
			return { id: stored.id, deliver_at: formatInstant(stored.deliverAtMs), duplicate: stored.duplicate };
		} catch (error) {
			typed(error);
		}
	}

	/** Publishes up to the batch limit; one reply per message, in order, as the HTTP batch route. */
	async publishBatch(topic: string, messages: unknown[]): Promise<PublishReply[]> {
		try {
			checkTopic(topic);
			if (!Array.isArray(messages)) {
				throw new InvalidRequest("messages must be an array", [{ path: "messages", message: "must be an array" }]);
			}
			return await publishBatch(this.env, topic, messages);
		} catch (error) {
			typed(error);
		}
	}
}
