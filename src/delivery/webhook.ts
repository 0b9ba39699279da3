import { readAtMost } from "../streams";
import { formatInstant } from "../time";
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

/** Response bytes read so the connection can be reused; past this the body is cancelled. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Sends one attempt. The timeout starts here, when the caller has a connection slot, and covers
 * reading the (bounded) response body. Never throws.
 *
 * The timer is cleared as soon as the attempt ends. (`AbortSignal.timeout()` would keep one timer
 * alive per attempt for the whole timeout, and workerd allows an object 10,000 active timers: at
 * 30 s timeouts, sustained pushes above ~330/s then fail with QuotaExceededError.)
 */
export async function sendWebhook(a: WebhookAttempt): Promise<AttemptResult> {
	const abort = new AbortController();
	let timedOut = false;
	const timer = setTimeout(() => {
		timedOut = true;
		abort.abort();
	}, a.timeoutMs);
	try {
		const headers = await webhookHeaders(a, Date.now());
		const response = await fetch(a.url, {
			method: "POST",
			headers,
			body: a.body,
			redirect: "manual",
			signal: abort.signal,
		});
		const retryAfter = response.headers.get("retry-after");
		// Read the body (≤ 64 KB; a longer one is cancelled): cancelling a body that was not read made
		// workerd drop the connection and open a new one for every attempt.
		if (response.body) await readAtMost(response.body, DRAIN_LIMIT_BYTES).catch(() => null);
		return { kind: "response", status: response.status, retryAfter };
	} catch (error) {
		if (timedOut) return { kind: "error", error: `no response within ${a.timeoutMs} ms` };
		return { kind: "error", error: `request failed: ${error instanceof Error ? error.message : String(error)}` };
	} finally {
		clearTimeout(timer);
	}
}
