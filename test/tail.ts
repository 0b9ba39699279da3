import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import type { TailFeed } from "../src/topic/tail-feed";
import { TOKEN } from "./helpers";
import { partitionStub } from "./partitions";

/** Shared helpers of the live-tail tests (issue 13). */

/** One event as a tail client receives it. */
export type TailEvent = Record<string, unknown> & { type: string; message_id: string | null };

/** Asks for a tail: the raw answer (101 with a `webSocket`, or an error). */
export function tailRequest(topic: string, query = "", headers: Record<string, string> = {}): Promise<Response> {
	return exports.default.fetch(
		new Request(`http://sundial.test/v1/topics/${topic}/tail${query}`, {
			headers: { authorization: `Bearer ${TOKEN}`, upgrade: "websocket", ...headers },
		}),
	);
}

/** A connected tail client: what it received so far, in order. */
export interface TailClient {
	events: TailEvent[];
	/** Resolves when `done(events)` holds (checked on every message); rejects after `timeoutMs`. */
	until(done: (events: TailEvent[]) => boolean, timeoutMs?: number): Promise<TailEvent[]>;
	/** Resolves with the close code once the server closed the socket. */
	closed: Promise<number>;
	close(): void;
}

/** Connects a tail client and waits for its `ready` event. */
export async function openTail(topic: string, query = "", headers: Record<string, string> = {}): Promise<TailClient> {
	const res = await tailRequest(topic, query, headers);
	const ws = res.webSocket;
	if (res.status !== 101 || !ws) throw new Error(`no tail: ${res.status} ${await res.text()}`);
	ws.accept();
	const events: TailEvent[] = [];
	const waiters = new Set<() => void>();
	ws.addEventListener("message", (m) => {
		events.push(JSON.parse(m.data as string) as TailEvent);
		for (const w of [...waiters]) w();
	});
	const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
	const client: TailClient = {
		events,
		until(done, timeoutMs = 10_000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					if (!done(events)) return;
					waiters.delete(check);
					clearTimeout(timer);
					resolve(events);
				};
				const timer = setTimeout(() => {
					waiters.delete(check);
					reject(new Error(`tail: condition not met; got ${JSON.stringify(events.map((e) => e.type))}`));
				}, timeoutMs);
				waiters.add(check);
				check();
			});
		},
		closed,
		close: () => ws.close(1000, "done"),
	};
	await client.until((e) => e.some((x) => x.type === "ready"));
	return client;
}

/** A partition's tail state: its lease and what it forwarded. */
export function feedOf(topic: string, partition: number) {
	return runInDurableObject(partitionStub(topic, partition), (instance) => {
		const feed = (instance as unknown as { tail: TailFeed }).tail;
		return { lease: feed.currentLease(), stats: { ...feed.stats }, listening: feed.listening() };
	});
}

/** Polls `probe` until `done` holds (state, not timing: the bound only stops a broken test). */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000) {
	const start = Date.now();
	for (;;) {
		const value = await probe();
		if (done(value)) return value;
		if (Date.now() - start > timeoutMs) throw new Error(`not reached: ${JSON.stringify(value)}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}
