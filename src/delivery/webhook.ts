import { formatInstant } from "../time";
import { fetchAttempt } from "./attempt-fetch";
import type { AttemptResult } from "./classify";
import { signWebhook } from "./signing";

/** Everything one webhook attempt sends. */
export interface WebhookAttempt {
	url: string;
	secret: string;
	topic: string;
	subscription: string;
	messageId: string;
	attempt: number;
	deliverAtMs: number;
	body: string;
	contentType: string;
	requestId: string | null;
	/** Publish headers, then subscription headers (the subscription wins on a clash). */
	messageHeaders: Record<string, string>;
	subscriptionHeaders: Record<string, string>;
	timeoutMs: number;
}

/** Builds the headers of an attempt (DESIGN.md "What a consumer receives"). */
export async function webhookHeaders(a: WebhookAttempt, nowMs: number): Promise<Headers> {
	const headers = new Headers();
	for (const [name, value] of Object.entries(a.messageHeaders)) headers.set(name, value);
	for (const [name, value] of Object.entries(a.subscriptionHeaders)) headers.set(name, value);
	const timestampSec = Math.floor(nowMs / 1000);
	headers.set("content-type", a.contentType);
	headers.set("user-agent", "Sundial/0.1 (+webhook)");
	headers.set("webhook-id", a.messageId);
	headers.set("webhook-timestamp", String(timestampSec));
	headers.set("webhook-signature", await signWebhook(a.secret, a.messageId, timestampSec, a.body));
	headers.set("sundial-topic", a.topic);
	headers.set("sundial-subscription", a.subscription);
	headers.set("sundial-attempt", String(a.attempt));
	headers.set("sundial-deliver-at", formatInstant(a.deliverAtMs));
	if (a.requestId !== null) headers.set("x-request-id", a.requestId);
	return headers;
}

/** Sends one attempt (fetchAttempt: timeout from the slot, body read, never throws). */
export async function sendWebhook(a: WebhookAttempt): Promise<AttemptResult> {
	const headers = await webhookHeaders(a, Date.now());
	const outcome = await fetchAttempt(a.url, { method: "POST", headers, body: a.body }, a.timeoutMs);
	if (outcome.kind === "error") return outcome;
	return { kind: "response", status: outcome.status, retryAfter: outcome.headers.get("retry-after") };
}
