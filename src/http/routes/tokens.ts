import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError, NotFound } from "../../errors";
import { formatInstant } from "../../time";
import { forgetToken, hashToken, newToken, TOKEN_PREFIX, tokenStub } from "../../tokens/client";
import type { TokenRecord } from "../../tokens/object";
import { MAX_TOKENS } from "../../tokens/object";
import { SCOPES, TOPIC_PATTERN } from "../../tokens/scopes";
import { durationBetween, Name } from "../../validation";
import { endpoint } from "../endpoint";
import { errors } from "../schemas";
import type { HonoEnv } from "../types";

const Time = z.string().openapi({ example: "2026-12-01T09:00:00.000Z" });
const YEAR_MS = 365 * 86_400_000;

const TokenBody = z
	.object({
		name: Name.openapi({ example: "billing-publisher" }),
		scopes: z
			.array(z.enum(SCOPES))
			.min(1)
			.max(SCOPES.length)
			.refine((s) => new Set(s).size === s.length, "each scope once")
			.openapi({ description: '"publish", "consume", "read" and/or "admin"', example: ["publish"] }),
		topics: z
			.array(z.string().regex(TOPIC_PATTERN, 'a topic name, or a prefix ending in "*" ("*": every topic)'))
			.min(1)
			.max(100)
			.optional()
			.openapi({ description: 'names or prefixes ending in "*". @default ["*"]', example: ["orders", "billing-*"] }),
		expires_in: durationBetween(60_000, 10 * YEAR_MS, "expires_in")
			.optional()
			.openapi({ description: "from 1m to 10 years; absent: never expires", example: "90d" }),
	})
	.strict()
	.openapi("TokenRequest");

const TokenSchema = z
	.object({
		id: z.string(),
		name: z.string(),
		prefix: z.string().openapi({ description: "the token's first characters, to recognise it" }),
		scopes: z.array(z.enum(SCOPES)),
		topics: z.array(z.string()),
		created_at: Time,
		expires_at: Time.nullable(),
		last_used_at: Time.nullable().openapi({ description: "to the minute" }),
	})
	.openapi("Token");

function tokenJson(t: TokenRecord) {
	return {
		id: t.id,
		name: t.name,
		prefix: t.prefix,
		scopes: t.scopes,
		topics: t.topics,
		created_at: formatInstant(t.createdAtMs),
		expires_at: t.expiresAtMs === null ? null : formatInstant(t.expiresAtMs),
		last_used_at: t.lastUsedAtMs === null ? null : formatInstant(t.lastUsedAtMs),
	};
}

/** Scoped tokens (README "Tokens"): create (shown once), list, revoke. Admin only. */
export function tokenRoutes(app: OpenAPIHono<HonoEnv>): void {
	endpoint(
		app,
		{
			method: "post",
			path: "/v1/tokens",
			scope: "admin",
			tag: "Tokens",
			summary: "Create a scoped token: shown in this answer only, stored as a hash",
			body: TokenBody,
			responses: {
				201: {
					description: "created; `token` is not shown again",
					schema: TokenSchema.omit({ last_used_at: true }).extend({ token: z.string() }),
				},
				...errors(400, 401, 403, 409, 415),
			},
		},
		async (c, { body }) => {
			const token = newToken();
			const nowMs = Date.now();
			const created = await tokenStub(c.env).create({
				id: `tok_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`,
				hash: await hashToken(token),
				name: body.name,
				prefix: token.slice(0, TOKEN_PREFIX.length + 6),
				scopes: body.scopes,
				topics: body.topics ?? ["*"],
				createdAtMs: nowMs,
				expiresAtMs: body.expires_in === undefined ? null : nowMs + body.expires_in,
			});
			if (!created) throw new AppError(409, "too_many_tokens", `at most ${MAX_TOKENS} tokens; revoke some first`);
			const { last_used_at: _unused, ...shown } = tokenJson(created);
			return c.json({ ...shown, token }, 201);
		},
	);

	endpoint(
		app,
		{
			method: "get",
			path: "/v1/tokens",
			scope: "admin",
			tag: "Tokens",
			summary: "List scoped tokens (never the tokens themselves)",
			responses: {
				200: { description: "every token, newest first", schema: z.object({ tokens: z.array(TokenSchema) }) },
				...errors(401, 403),
			},
		},
		async (c) => c.json({ tokens: (await tokenStub(c.env).list()).map(tokenJson) }),
	);

	endpoint(
		app,
		{
			method: "delete",
			path: "/v1/tokens/{id}",
			scope: "admin",
			tag: "Tokens",
			summary: "Revoke a token: refused everywhere within seconds (here at once)",
			params: z.object({
				id: z
					.string()
					.regex(/^tok_[0-9a-f]{16}$/, "not a token id")
					.openapi({ example: "tok_1a2b3c4d5e6f7a8b" }),
			}),
			responses: {
				200: { description: "revoked", schema: z.object({ deleted: z.boolean() }) },
				...errors(400, 401, 403, 404),
			},
		},
		async (c, { params }) => {
			if (!(await tokenStub(c.env).revoke(params.id))) {
				throw new NotFound("token_not_found", `token "${params.id}" not found`);
			}
			forgetToken(params.id);
			return c.json({ deleted: true });
		},
	);
}
