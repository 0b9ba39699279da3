import type { MiddlewareHandler } from "hono";
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
 * Bearer auth for `/v1`: the token is compared in constant time (both sides hashed to the same
 * length first). No configured token refuses every request (fail closed).
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
		const header = c.req.header("authorization") ?? "";
		const match = /^Bearer\s+(.+)$/i.exec(header.trim());
		if (!match) {
			c.header("www-authenticate", 'Bearer realm="sundial"');
			throw new AppError(401, "unauthorized", "missing bearer token: send Authorization: Bearer <token>");
		}
		const wanted = expectedDigest?.token === expected ? expectedDigest.digest : await digestOfExpected(expected);
		const given = await digest(match[1] as string);
		if (!crypto.subtle.timingSafeEqual(given, wanted)) {
			c.header("www-authenticate", 'Bearer realm="sundial", error="invalid_token"');
			throw new AppError(401, "unauthorized", "wrong bearer token");
		}
		await next();
	};
}
