import { WorkerEntrypoint } from "cloudflare:workers";
import { type AppEnv, getConfig } from "./config";
import { AppError, unwrap } from "./errors";
import { NAME_PATTERN } from "./http/schemas";
import { topicStub } from "./http/stubs";
import { type PublishReply, publishBatch } from "./publish/batch";
import { normalizeMessage } from "./publish/normalize";
import { formatInstant } from "./time";

/** What a publish over the service binding answers, per message. */
export type { PublishReply };

function checkTopic(topic: string): void {
	if (typeof topic !== "string" || !NAME_PATTERN.test(topic)) {
		throw new AppError(400, "invalid_request", `invalid topic name "${String(topic)}"`);
	}
}

/**
 * Publishing for other Workers on the same account, over a service binding (no HTTP, no token):
 * `services = [{ binding = "SUNDIAL", service = "sundial", entrypoint = "PublishEntrypoint" }]`.
 * Messages take the same fields as the HTTP API.
 */
export class PublishEntrypoint extends WorkerEntrypoint<AppEnv> {
	/** Publishes one message; throws an Error whose message starts with the error code on bad input. */
	async publish(topic: string, message: unknown): Promise<{ id: string; deliver_at: string; duplicate: boolean }> {
		try {
			checkTopic(topic);
			const normalized = normalizeMessage(message, getConfig(this.env), Date.now());
			const [o] = unwrap(await topicStub(this.env, topic).publish([normalized]));
			if (!o) throw new Error("publish returned no outcome");
			return { id: o.id, deliver_at: formatInstant(o.deliverAtMs), duplicate: o.duplicate };
		} catch (error) {
			if (error instanceof AppError) throw new Error(`${error.code}: ${error.message}`);
			throw error;
		}
	}

	/** Publishes up to the batch limit; one reply per message, in order, as the HTTP batch route. */
	async publishBatch(topic: string, messages: unknown[]): Promise<PublishReply[]> {
		try {
			checkTopic(topic);
			if (!Array.isArray(messages)) {
				throw new AppError(400, "invalid_request", "messages must be an array");
			}
			return await publishBatch(this.env, topic, messages);
		} catch (error) {
			if (error instanceof AppError) throw new Error(`${error.code}: ${error.message}`);
			throw error;
		}
	}
}
