/**
 * Pull receipts: `<mid>.<lease>.<mac>` in base 36 with a truncated HMAC-SHA256 over the
 * subscription, message row and lease number, keyed by a random per-topic key. A receipt
 * names exactly one lease; it cannot be forged or moved to another subscription.
 */

import { fromBase64, toBase64Url } from "../base64";

const encoder = new TextEncoder();
const MAC_BYTES = 16;

/** The fields a receipt binds. */
export interface ReceiptClaim {
	sid: number;
	mid: number;
	lease: number;
}

/** Imports the topic's receipt key (raw bytes, base64url). */
export function receiptKey(rawBase64Url: string): Promise<CryptoKey> {
	const raw = fromBase64(rawBase64Url);
	return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** A new random receipt key, base64url. */
export function newReceiptKey(): string {
	return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

async function mac(key: CryptoKey, c: ReceiptClaim): Promise<string> {
	const full = await crypto.subtle.sign("HMAC", key, encoder.encode(`${c.sid}.${c.mid}.${c.lease}`));
	return toBase64Url(new Uint8Array(full).slice(0, MAC_BYTES));
}

/** The receipt for one lease. */
export async function makeReceipt(key: CryptoKey, c: ReceiptClaim): Promise<string> {
	return `${c.mid.toString(36)}.${c.lease.toString(36)}.${await mac(key, c)}`;
}

/** The lease a receipt names for subscription `sid`, or null when it is malformed or forged. */
export async function readReceipt(key: CryptoKey, sid: number, receipt: unknown): Promise<ReceiptClaim | null> {
	if (typeof receipt !== "string" || receipt.length > 200) return null;
	const match = /^([0-9a-z]{1,11})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/.exec(receipt);
	if (!match) return null;
	const claim = { sid, mid: Number.parseInt(match[1] as string, 36), lease: Number.parseInt(match[2] as string, 36) };
	if (!Number.isSafeInteger(claim.mid) || !Number.isSafeInteger(claim.lease)) return null;
	const expected = await mac(key, claim);
	// Compare in constant time: both are 22 base64url characters.
	const a = encoder.encode(expected);
	const b = encoder.encode(match[3] as string);
	return crypto.subtle.timingSafeEqual(a, b) ? claim : null;
}
