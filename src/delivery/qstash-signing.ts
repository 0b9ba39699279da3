/**
 * The `Upstash-Signature` of a `/v2` delivery (QSTASH.md "Upstash-Signature"): an HS256 JWT that
 * `@upstash/qstash`'s `Receiver` verifies. WebCrypto only, so it runs in workerd.
 */

import { textToBase64Url, toBase64Url } from "../base64";

const encoder = new TextEncoder();
const hmacKeys = new Map<string, Promise<CryptoKey>>();

/** How long a signature is valid: `exp` = `iat` + this. */
export const QSTASH_JWT_LIFETIME_SEC = 300;

const JWT_HEADER = { alg: "HS256", typ: "JWT" } as const;

/** What one delivery attempt is signed over. */
export interface QstashSignInput {
	/** The whole signing key string, `sig_` prefix included; its UTF-8 bytes are the HMAC key. */
	key: string;
	/** The destination URL as requested, query included; becomes `sub`. */
	url: string;
	/** The raw body, exactly as delivered (a string is signed as its UTF-8 bytes). */
	body: Uint8Array | string;
	/** The signing instant; `iat` is its unix second. */
	nowMs: number;
}

/** The claims QSTASH.md lists, and only those. */
export interface QstashClaims {
	iss: "Upstash";
	sub: string;
	exp: number;
	nbf: 0;
	iat: number;
	jti: string;
	body: string;
}

function base64UrlJson(value: unknown): string {
	return textToBase64Url(JSON.stringify(value));
}

function hmacKeyFor(key: string): Promise<CryptoKey> {
	let cryptoKey = hmacKeys.get(key);
	if (!cryptoKey) {
		cryptoKey = crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		if (hmacKeys.size > 100) hmacKeys.clear();
		hmacKeys.set(key, cryptoKey);
	}
	return cryptoKey;
}

function randomJti(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return `jwt_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The `body` claim: base64url of SHA-256 of the raw bytes, `=` padding kept (as QStash sends it). */
export async function qstashBodyHash(body: Uint8Array | string): Promise<string> {
	const bytes = typeof body === "string" ? encoder.encode(body) : body;
	return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), true);
}

/** The `Upstash-Signature` header value for one delivery attempt (a fresh `jti` each call). */
export async function signQstash(input: QstashSignInput): Promise<string> {
	const iatSec = Math.floor(input.nowMs / 1000);
	const claims: QstashClaims = {
		iss: "Upstash",
		sub: input.url,
		exp: iatSec + QSTASH_JWT_LIFETIME_SEC,
		nbf: 0,
		iat: iatSec,
		jti: randomJti(),
		body: await qstashBodyHash(input.body),
	};
	const signingInput = `${base64UrlJson(JWT_HEADER)}.${base64UrlJson(claims)}`;
	const mac = await crypto.subtle.sign("HMAC", await hmacKeyFor(input.key), encoder.encode(signingInput));
	return `${signingInput}.${toBase64Url(new Uint8Array(mac))}`;
}
