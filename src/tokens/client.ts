import type { AppEnv } from "../config";
import type { Principal } from "./scopes";

/** The one object holding every scoped token. */
export function tokenStub(env: AppEnv) {
	return env.TOKENS.getByName("tokens");
}

/** Scoped tokens start with this (the admin token is whatever SUNDIAL_TOKEN is). */
export const TOKEN_PREFIX = "sdl_";

/** A new token: `sdl_` + 32 random bytes in base64url (256 bits). */
export function newToken(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(32));
	let text = "";
	for (const b of bytes) text += String.fromCharCode(b);
	return `${TOKEN_PREFIX}${btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** SHA-256 of a token, hex: what is stored and looked up. */
export async function hashToken(token: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
	return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * How long an isolate trusts what it read of a token: a revocation reaches every isolate within
 * this (README "Tokens"); the isolate that revoked it forgets at once.
 */
export const TOKEN_CACHE_MS = 5_000;
/** Most token lookups an isolate keeps (the oldest goes first). */
const CACHE_MAX = 10_000;

/** Token lookups by hash, shared by the requests of this isolate: plain data only (PLATFORM.md §11.2). */
const cache = new Map<string, { principal: Principal | null; atMs: number; expiresAtMs: number | null }>();

/** The principal of a scoped token, or null when it is unknown, revoked or expired. */
export async function principalOf(env: AppEnv, token: string): Promise<Principal | null> {
	const hash = await hashToken(token);
	const nowMs = Date.now();
	const hit = cache.get(hash);
	if (hit && nowMs - hit.atMs < TOKEN_CACHE_MS && (hit.expiresAtMs === null || hit.expiresAtMs > nowMs)) {
		return hit.principal;
	}
	const found = await tokenStub(env).lookup(hash, nowMs);
	const principal: Principal | null = found
		? { kind: "token", id: found.id, scopes: found.scopes, topics: found.topics }
		: null;
	if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
	cache.set(hash, { principal, atMs: nowMs, expiresAtMs: found?.expiresAtMs ?? null });
	return principal;
}

/** Forgets what this isolate read of token `id` (it was just revoked here). */
export function forgetToken(id: string): void {
	for (const [hash, entry] of cache) {
		if (entry.principal?.kind === "token" && entry.principal.id === id) cache.delete(hash);
	}
}
