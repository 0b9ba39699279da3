import { SundialError } from "./errors.js";
import type { Transport } from "./transport.js";

/** One event of a topic's live tail (docs/API.md "Live tail"): no bodies, headers or secrets. */
export interface TailEvent {
	/** `ready`, `published`, `attempt_started`, `attempt_ended`, `delivered`, `retry_scheduled`, `dead`, `dropped`, `topic_deleted`. */
	type: string;
	topic?: string;
	partition?: number | null;
	subscription?: string | null;
	message_id?: string | null;
	attempt?: number | null;
	at?: string;
	[field: string]: unknown;
}

export interface TailOptions {
	/** Only these subscriptions' events. */
	subscription?: string[];
	/** Only these event types. */
	types?: string[];
	/** Ends the tail (the iterator finishes). */
	signal?: AbortSignal;
}

/**
 * A topic's live delivery events as an async iterator, over a WebSocket (`GET /v1/topics/{topic}/tail`).
 * Ends when `signal` aborts, the topic is deleted, or the iteration stops (`break`); a refused
 * connection (unknown topic, bad filter, token) throws a SundialError.
 */
export async function* tailTopic(
	transport: Transport,
	topic: string,
	options: TailOptions = {},
): AsyncGenerator<TailEvent> {
	const query: Record<string, string> = {};
	if (options.subscription?.length) query.subscription = options.subscription.join(",");
	if (options.types?.length) query.types = options.types.join(",");
	const ws = transport.socket("/v1/topics/{topic}/tail", { topic }, query, "sundial.tail.v1");
	const queue: TailEvent[] = [];
	let ended = false;
	let failure: SundialError | null = null;
	let opened = false;
	let wake: () => void = () => {};
	const signalled = () => wake();
	ws.addEventListener("open", () => {
		opened = true;
	});
	ws.addEventListener("message", (e: MessageEvent) => {
		try {
			queue.push(JSON.parse(String(e.data)) as TailEvent);
		} catch {
			// Not an event: ignored.
		}
		signalled();
	});
	ws.addEventListener("error", () => {
		// A refused handshake fires `error` (Node: without `close`): what the server said is not visible here.
		if (!opened)
			failure = new SundialError(0, "tail_refused", `the tail of "${topic}" was refused (topic, filter or token)`);
		ended = true;
		signalled();
	});
	ws.addEventListener("close", () => {
		ended = true;
		signalled();
	});
	const abort = () => {
		ended = true;
		ws.close(1000, "done");
		signalled();
	};
	options.signal?.addEventListener("abort", abort, { once: true });
	try {
		for (;;) {
			const next = queue.shift();
			if (next) {
				yield next;
				continue;
			}
			if (failure) throw failure;
			if (ended) return;
			await new Promise<void>((resolve) => {
				wake = resolve;
			});
		}
	} finally {
		options.signal?.removeEventListener("abort", abort);
		if (ws.readyState === 0 || ws.readyState === 1) ws.close(1000, "done");
	}
}
