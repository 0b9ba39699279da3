/**
 * The dashboard's session (README "Dashboard"): the signed-in token and a CSRF token, sealed with
 * AES-GCM under a key derived from SUNDIAL_TOKEN, in one cookie. The token itself is never in the
 * cookie in clear; each request opens the cookie and verifies the token again, so a revocation or a
 * change of scopes applies at once, and changing SUNDIAL_TOKEN ends every session.
 */
import { fromBase64, toBase64Url } from "../base64";
import { HOUR_MS } from "../time";

/** The cookie's name. No `__Host-` prefix: that one demands `Path=/`, and the session is scoped to `/dash`. */
export const SESSION_COOKIE = "sundial_session";
/** The cookie's attributes: not readable by scripts, HTTPS only (and localhost), never sent cross-site, only to /dash. */
export const SESSION_COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: "Strict", path: "/dash" } as const;
/** How long a session lasts after sign-in; the cookie itself ends with the browser session. */
export const SESSION_TTL_MS = 12 * HOUR_MS;

/** What a session holds. */
export interface Session {
	/** The token signed in with (the admin token or a scoped `sdl_…` token). */
	token: string;
	/** The per-session CSRF token every form carries (csrf.ts). */
	csrf: string;
	/** When the session ends (epoch ms). */
	expiresAtMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const IV_BYTES = 12;
/** Binds a sealed value to its purpose: a value sealed for anything else does not open here. */
const AAD = encoder.encode("sundial.dash.session.v1");

/** The derived key, kept per admin token (plain data, never a promise: PLATFORM.md §11.2). */
let derived: { secret: string; key: CryptoKey } | null = null;

/** AES-256-GCM key from SUNDIAL_TOKEN by HKDF-SHA-256 (its own salt and info: no other use of the token shares it). */
async function sessionKey(secret: string): Promise<CryptoKey> {
	if (derived?.secret === secret) return derived.key;
	const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
	const key = await crypto.subtle.deriveKey(
		{ name: "HKDF", hash: "SHA-256", salt: encoder.encode("sundial-dash"), info: encoder.encode("session-aes-gcm") },
		material,
		{ name: "AES-GCM", length: 256 },
		false,
		["encrypt", "decrypt"],
	);
	derived = { secret, key };
	return key;
}

/** A fresh session for `token`, valid SESSION_TTL_MS from `nowMs`. */
export function newSession(token: string, nowMs: number): Session {
	return { token, csrf: toBase64Url(crypto.getRandomValues(new Uint8Array(32))), expiresAtMs: nowMs + SESSION_TTL_MS };
}

/** The cookie value of a session: base64url(iv ‖ AES-GCM(JSON)). */
export async function sealSession(secret: string, session: Session): Promise<string> {
	const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
	const plain = encoder.encode(JSON.stringify(session));
	const sealed = new Uint8Array(
		await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: AAD }, await sessionKey(secret), plain),
	);
	const out = new Uint8Array(IV_BYTES + sealed.byteLength);
	out.set(iv);
	out.set(sealed, IV_BYTES);
	return toBase64Url(out);
}

/** The session in a cookie value; null when it is malformed, forged, sealed under another key, or expired. */
export async function openSession(secret: string, value: string, nowMs: number): Promise<Session | null> {
	if (value.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
	try {
		const bytes = fromBase64(value);
		if (bytes.byteLength <= IV_BYTES + 16) return null;
		const plain = await crypto.subtle.decrypt(
			{ name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData: AAD },
			await sessionKey(secret),
			bytes.subarray(IV_BYTES),
		);
		const session = JSON.parse(decoder.decode(plain)) as Partial<Session>;
		if (typeof session.token !== "string" || typeof session.csrf !== "string") return null;
		if (typeof session.expiresAtMs !== "number" || session.expiresAtMs <= nowMs) return null;
		return { token: session.token, csrf: session.csrf, expiresAtMs: session.expiresAtMs };
	} catch {
		return null;
	}
}
