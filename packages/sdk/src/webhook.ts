import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { SundialError } from "./errors.js";

/** A webhook delivery whose signature checked out. */
export interface VerifiedWebhook {
	/** The message id (`webhook-id`): the same on every attempt, so dedupe on it. */
	id: string;
	/** The body: parsed when its content type is JSON, else the text as sent. */
	body: unknown;
	/** The body exactly as signed. */
	rawBody: string;
	contentType: string | null;
	topic: string | null;
	subscription: string | null;
	/** 1 on the first attempt. */
	attempt: number | null;
	/** The due instant the message was published for (RFC 3339). */
	deliverAt: string | null;
	/** The `request_id` given at publish (`x-request-id`). */
	requestId: string | null;
	/** When this attempt was signed (`webhook-timestamp`). */
	timestamp: Date;
}

/**
 * Checks a webhook request Sundial sent against the subscription's secret (`whsec_…`) with the
 * `standardwebhooks` library: the signature must match and the timestamp be within 5 minutes. Reads
 * the request's body (pass `request.clone()` to read it again yourself). Throws a SundialError with
 * code `invalid_signature` (status 0) when it does not verify; answer such a request with a 401.
 */
export async function verifyWebhook(secret: string, request: Request): Promise<VerifiedWebhook> {
	const rawBody = await request.text();
	const header = (name: string) => request.headers.get(name);
	const headers: Record<string, string> = {};
	for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
		const value = header(name);
		if (value !== null) headers[name] = value;
	}
	try {
		new Webhook(secret).verify(rawBody, headers, { jsonParse: false });
	} catch (error) {
		const message = error instanceof WebhookVerificationError ? error.message : `bad secret: ${String(error)}`;
		throw new SundialError(0, "invalid_signature", `webhook not verified: ${message}`, { cause: error });
	}
	const contentType = header("content-type");
	const attempt = header("sundial-attempt");
	return {
		id: headers["webhook-id"] as string,
		body: isJson(contentType) && rawBody !== "" ? JSON.parse(rawBody) : rawBody,
		rawBody,
		contentType,
		topic: header("sundial-topic"),
		subscription: header("sundial-subscription"),
		attempt: attempt === null ? null : Number(attempt),
		deliverAt: header("sundial-deliver-at"),
		requestId: header("x-request-id"),
		timestamp: new Date(Number(headers["webhook-timestamp"]) * 1000),
	};
}

function isJson(contentType: string | null): boolean {
	const type = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
	return type === "application/json" || type.endsWith("+json");
}
