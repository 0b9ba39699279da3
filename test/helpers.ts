import { exports } from "cloudflare:workers";
import { inject } from "vitest";

/** The token the workerd tests run with (vitest.config.ts). */
export const TOKEN = "test-token";

let counter = 0;
/** A topic name no other test uses (storage is shared within a test file). */
export function uniqueName(prefix = "t"): string {
	counter += 1;
	return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

/** Calls the Worker's fetch handler with the test token and a JSON body. */
export function api(
	method: string,
	path: string,
	body?: unknown,
	headers: Record<string, string> = {},
): Promise<Response> {
	const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
	if (body !== undefined) {
		init.body = typeof body === "string" ? body : JSON.stringify(body);
		(init.headers as Record<string, string>)["content-type"] ??= "application/json";
	}
	return exports.default.fetch(new Request(`http://sundial.test${path}`, init));
}

/** Calls a `/v2` route with the test token, raw body and headers as given (QStash's SDK style). */
export function v2(
	method: string,
	path: string,
	headers: Record<string, string> = {},
	body?: string | Uint8Array,
): Promise<Response> {
	return exports.default.fetch(
		new Request(`http://sundial.test${path}`, {
			method,
			headers: { authorization: `Bearer ${TOKEN}`, ...headers },
			body,
		}),
	);
}

/** A `/v2` message's delivery options as a URL publish stores them (tests that store messages directly). */
export function v2Options(url: string | null, labels: string[] = []) {
	return {
		kind: "qstash" as const,
		url,
		method: "POST" as const,
		contentType: null,
		retries: 3,
		retryDelay: null,
		timeoutMs: 30_000,
		bodyBase64: false,
		topicName: null,
		callerIp: null,
		labels,
	};
}

/** A small seeded generator (mulberry32), so a failing case can be run again. */
export function seeded(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** Calls the API and parses the JSON answer. */
export async function json<T = Record<string, unknown>>(method: string, path: string, body?: unknown) {
	const res = await api(method, path, body);
	return { status: res.status, body: (await res.json()) as T };
}

/** The base URL of the real HTTP receiver started by the global setup. */
export function receiverUrl(): string {
	return inject("receiverUrl");
}

/** A received request as the receiver's control route reports it. */
export interface Received {
	path: string;
	headers: Record<string, string>;
	body: string;
	receivedAtMs: number;
	/** Requests open at the receiver when this one arrived, counting itself (any path). */
	activeAtArrival: number;
	/** Its place among that connection's requests (1 = it opened the connection). */
	onConnection: number;
}

/** What the receiver got on `path` so far. */
export async function received(path: string): Promise<Received[]> {
	const res = await fetch(`${receiverUrl()}/_control/received?path=${encodeURIComponent(path)}`);
	return (await res.json()) as Received[];
}

/** Sets how the receiver answers `path`. */
export async function behave(
	path: string,
	reply:
		| { status: number; delayMs?: number; trickleMs?: number; headers?: Record<string, string>; body?: string }
		| { sequence: { status: number; delayMs?: number; headers?: Record<string, string>; body?: string }[] },
) {
	await fetch(`${receiverUrl()}/_control/behaviour?path=${encodeURIComponent(path)}`, {
		method: "POST",
		body: JSON.stringify(reply),
	});
}

/** Creates a topic with one webhook subscription to the receiver at `path`; returns its secret. */
export async function topicWithWebhook(topic: string, path: string, extra: Record<string, unknown> = {}) {
	await api("PUT", `/v1/topics/${topic}`, {});
	const res = await json<{ secret: string }>("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
		type: "webhook",
		url: `${receiverUrl()}${path}`,
		...extra,
	});
	if (res.status !== 201) throw new Error(`subscription not created: ${JSON.stringify(res.body)}`);
	return res.body.secret;
}
