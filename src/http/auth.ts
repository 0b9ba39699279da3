import type { MiddlewareHandler } from "hono";
import { textFromBase64Url } from "../base64";
import { getConfig } from "../config";
import { AppError } from "../errors";
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

/** The subprotocols a WebSocket upgrade offers (`Sec-WebSocket-Protocol`, comma-separated). */
export function offeredProtocols(header: string | undefined): string[] {
	return (header ?? "")
		.split(",")
		.map((p) => p.trim())
		.filter((p) => p !== "");
}

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
 * Bearer auth for `/v1`: the token is compared in constant time (both sides hashed to the same
 * length first). No configured token refuses every request (fail closed). A WebSocket upgrade may
 * carry the token as a subprotocol instead (AUTH_PROTOCOL_PREFIX); the header wins when both are sent.
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
				: (/^Bearer\s+(.+)$/i.exec(header.trim())?.[1] ?? null);
		if (token === null) {
			c.header("www-authenticate", 'Bearer realm="sundial"');
			throw new AppError(401, "unauthorized", "missing bearer token: send Authorization: Bearer <token>");
		}
		const wanted = expectedDigest?.token === expected ? expectedDigest.digest : await digestOfExpected(expected);
		const given = await digest(token);
		if (!crypto.subtle.timingSafeEqual(given, wanted)) {
			c.header("www-authenticate", 'Bearer realm="sundial", error="invalid_token"');
			throw new AppError(401, "unauthorized", "wrong bearer token");
		}
		await next();
	};
}
