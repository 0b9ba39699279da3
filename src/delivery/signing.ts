/** Standard Webhooks signing (https://www.standardwebhooks.com): `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`. */

import { fromBase64, toBase64 } from "../base64";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** A new subscription secret: `whsec_` + base64 of 32 random bytes. */
export function newSecret(): string {
	return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

function keyFor(secret: string): Promise<CryptoKey> {
	let key = keys.get(secret);
	if (!key) {
		const raw = fromBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
		key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		if (keys.size > 1000) keys.clear();
		keys.set(secret, key);
	}
	return key;
}

/** The `webhook-signature` header value for one delivery attempt. */
export async function signWebhook(
	secret: string,
	messageId: string,
	timestampSec: number,
	body: string,
): Promise<string> {
	const key = await keyFor(secret);
	const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${messageId}.${timestampSec}.${body}`));
	return `v1,${toBase64(new Uint8Array(mac))}`;
}
