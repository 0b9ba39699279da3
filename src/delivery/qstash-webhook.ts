import { type FetchOutcome, fetchAttempt } from "./attempt-fetch";
import { signQstash } from "./qstash-signing";

/** Everything one `/v2` attempt sends (QSTASH.md "What the destination receives"). */
export interface QstashAttempt {
	url: string;
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	body: Uint8Array;
	contentType: string | null;
	/** `Upstash-Forward-X: v` of the publish, delivered as `X: v`. */
	forward: Record<string, string>;
	messageId: string;
	/** 1-based; sent as `Upstash-Retried: attempt - 1`. */
	attempt: number;
	topicName: string | null;
	scheduleId: string | null;
	callerIp: string | null;
	/** The current signing key (`sig_…`). */
	key: string;
	timeoutMs: number;
}

/** What one attempt produced: a response (status and headers, for QStash's retry rules) or none. */
export type QstashAttemptResult = FetchOutcome;

/** The request headers of an attempt: exactly QSTASH.md's list plus the forwarded ones. */
export async function qstashHeaders(a: QstashAttempt, nowMs: number): Promise<Headers> {
	const headers = new Headers();
	for (const [name, value] of Object.entries(a.forward)) headers.set(name, value);
	headers.set("user-agent", "Upstash-QStash");
	if (a.contentType !== null) headers.set("content-type", a.contentType);
	else headers.delete("content-type");
	const body = a.method === "GET" ? new Uint8Array() : a.body;
	headers.set("upstash-signature", await signQstash({ key: a.key, url: a.url, body, nowMs }));
	headers.set("upstash-message-id", a.messageId);
	headers.set("upstash-retried", String(a.attempt - 1));
	if (a.topicName !== null) headers.set("upstash-topic-name", a.topicName);
	if (a.scheduleId !== null) headers.set("upstash-schedule-id", a.scheduleId);
	if (a.callerIp !== null) headers.set("upstash-caller-ip", a.callerIp);
	return headers;
}

/** Sends one attempt (fetchAttempt: timeout from the slot, body read, never throws); a GET has no body. */
export async function sendQstash(a: QstashAttempt): Promise<QstashAttemptResult> {
	const headers = await qstashHeaders(a, Date.now());
	return fetchAttempt(a.url, { method: a.method, headers, body: a.method === "GET" ? undefined : a.body }, a.timeoutMs);
}
