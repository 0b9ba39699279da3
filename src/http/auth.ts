import type { Context, MiddlewareHandler } from "hono";
import { textFromBase64Url } from "../base64";
import { type AppEnv, getConfig } from "../config";
import { AppError } from "../errors";
import { offeredProtocols } from "../tail/wire";
import { principalOf, TOKEN_PREFIX } from "../tokens/client";
import { holds, type Principal, reaches, type Scope } from "../tokens/scopes";
import type { HonoEnv } from "./types";

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
	return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/**
 * The configured token's digest, kept once computed (the same for every request). Plain bytes,
 * never a promise: a promise made in one request must not be awaited in another (PLATFORM.md §11.2).
 */
let expectedDigest: { token: string; digest: ArrayBuffer } | null = null;
async function digestOfExpected(token: string): Promise<ArrayBuffer> {
	if (expectedDigest?.token === token) return expectedDigest.digest;
	const computed = await digest(token);
	expectedDigest = { token, digest: computed };
	return computed;
}

/**
 * A WebSocket client that cannot set headers (a browser) sends its token as one of the subprotocols
 * it offers: this prefix, then the token in base64url (subprotocols allow only a few characters).
 */
export const AUTH_PROTOCOL_PREFIX = "sundial.auth.";

/** The token a WebSocket upgrade carries in its subprotocols, or null (not an upgrade, none, or malformed). */
function protocolToken(upgrade: string | undefined, protocols: string | undefined): string | null {
	if (upgrade?.toLowerCase() !== "websocket") return null;
	const offered = offeredProtocols(protocols).find((p) => p.startsWith(AUTH_PROTOCOL_PREFIX));
	if (!offered) return null;
	try {
		return textFromBase64Url(offered.slice(AUTH_PROTOCOL_PREFIX.length)) || null;
	} catch {
		return null;
	}
}

/**
 * Bearer auth for `/v1` and `/v2`: the admin token (`SUNDIAL_TOKEN`, compared in constant time, both
 * sides hashed to the same length first), or a scoped token (`sdl_…`, looked up by its SHA-256;
 * README "Tokens"). Sets the request's principal; each route then checks its scope (`authorize`).
 * No configured admin token refuses every request (fail closed). No token is ever logged. A
 * WebSocket upgrade may carry the token as a subprotocol instead (AUTH_PROTOCOL_PREFIX); the header
 * wins when both are sent.
 */
export function bearerAuth(): MiddlewareHandler<HonoEnv> {
	return async function sundialBearerAuth(c, next) {
		const expected = getConfig(c.env).token;
		if (expected === null) {
			throw new AppError(
				503,
				"token_not_configured",
				"no API token is configured: set SUNDIAL_TOKEN (wrangler secret put SUNDIAL_TOKEN)",
			);
		}
		const header = c.req.header("authorization");
		const token =
			header === undefined
				? protocolToken(c.req.header("upgrade"), c.req.header("sec-websocket-protocol"))
				: (/^Bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim() ?? null);
		if (token === null) {
			c.header("www-authenticate", 'Bearer realm="sundial"');
			throw new AppError(401, "unauthorized", "missing bearer token: send Authorization: Bearer <token>");
		}
		const principal = await verifyToken(c.env, expected, token);
		if (!principal) {
			c.header("www-authenticate", 'Bearer realm="sundial", error="invalid_token"');
			throw new AppError(401, "unauthorized", "wrong, revoked or expired bearer token");
		}
		c.set("principal", principal);
		await next();
	};
}

/**
 * Who `token` is: the admin when it equals `expected` (SUNDIAL_TOKEN, compared in constant time, both
 * sides hashed to the same length first), else the scoped token (`sdl_…`) it is, looked up by its
 * SHA-256; null when it is neither, or revoked or expired. The one check behind every way in (the
 * bearer header, the tail's subprotocol, the dashboard's session).
 */
export async function verifyToken(env: AppEnv, expected: string, token: string): Promise<Principal | null> {
	const wanted = expectedDigest?.token === expected ? expectedDigest.digest : await digestOfExpected(expected);
	const given = await digest(token);
	if (crypto.subtle.timingSafeEqual(given, wanted)) return { kind: "admin" };
	return token.startsWith(TOKEN_PREFIX) ? await principalOf(env, token) : null;
}

/**
 * Refuses (403 `forbidden`) a request whose token lacks `scope`, or names a topic outside the
 * token's patterns. Every route calls it with the scope it states (endpoint.ts, the raw `/v2` routes).
 */
export function authorize(c: Context<HonoEnv>, scope: Scope, topic: string | null = null): void {
	const principal = c.get("principal");
	if (!principal) throw new Error("authorize called on a route without the bearer check");
	if (!holds(principal, scope)) {
		throw new AppError(403, "forbidden", `this token does not have the "${scope}" scope this route needs`);
	}
	if (topic !== null && !reaches(principal, topic)) {
		throw new AppError(403, "forbidden", `this token may not use topic "${topic}"`);
	}
}
