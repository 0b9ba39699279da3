/**
 * The body of a `/v2` callback (QSTASH.md "Callbacks"): what one attempt of a message got, with
 * the message it was. Pure: the caller publishes it as a message of its own.
 */

import { toBase64 } from "../base64";
import type { FetchOutcome } from "./attempt-fetch";

/** The attempt and the message it delivered, as the callback body describes them. */
export interface CallbackSource {
	/** The outcome of the attempt: a response, or none (network error, timeout). */
	outcome: FetchOutcome;
	/** 1-based; reported as `retried` = attempt − 1 (the `Upstash-Retried` it was sent with). */
	attempt: number;
	maxRetries: number;
	/** The source's `messageId` (the group form for a URL-group endpoint). */
	messageId: string;
	topicName: string | null;
	endpointName: string | null;
	url: string;
	method: string;
	/** The forwarded headers it was delivered with. */
	headers: Record<string, string>;
	/** Base64 of the raw body bytes it was published with. */
	bodyBase64: string;
	notBeforeMs: number;
	createdAtMs: number;
	scheduleId: string | null;
	callerIp: string | null;
	/** For the failure callback: the dead delivery's dlqId. */
	dlqId?: string;
}

/**
 * The JSON body QStash posts to a callback URL: `{status, header, body, retried, maxRetries,
 * sourceMessageId, topicName, endpointName, url, method, sourceHeader, sourceBody, notBefore,
 * createdAt, scheduleId, callerIP}` (+ `dlqId` for a failure callback). `body` and `sourceBody`
 * are base64; headers are `{name: [values]}`; times are unix ms. Fields that do not apply are
 * absent; when nothing answered, `status` is 0, `header` empty and `body` "" (plus `error`).
 */
export function callbackBody(s: CallbackSource): Record<string, unknown> {
	const response = s.outcome.kind === "response" ? s.outcome : null;
	const header: Record<string, string[]> = {};
	for (const [name, value] of response?.headers ?? []) header[name] = [...(header[name] ?? []), value];
	return {
		status: response?.status ?? 0,
		...(s.outcome.kind === "error" ? { error: s.outcome.error } : {}),
		header,
		body: toBase64(response?.body ?? new Uint8Array(0)),
		retried: s.attempt - 1,
		maxRetries: s.maxRetries,
		sourceMessageId: s.messageId,
		...(s.topicName !== null ? { topicName: s.topicName } : {}),
		...(s.endpointName !== null ? { endpointName: s.endpointName } : {}),
		url: s.url,
		method: s.method,
		sourceHeader: Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k, [v]])),
		sourceBody: s.bodyBase64,
		notBefore: s.notBeforeMs,
		createdAt: s.createdAtMs,
		...(s.scheduleId !== null ? { scheduleId: s.scheduleId } : {}),
		...(s.callerIp !== null ? { callerIP: s.callerIp } : {}),
		...(s.dlqId !== undefined ? { dlqId: s.dlqId } : {}),
	};
}
