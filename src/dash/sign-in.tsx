/** Sign-in and sign-out (docs/API.md "Dashboard"): the session cookie is set and cleared here. */
import type { Context, Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { getConfig } from "../config";
import { AppError } from "../errors";
import { verifyToken } from "../http/auth";
import { crossSiteReason } from "./csrf";
import { readForm } from "./forms";
import { LoginPage } from "./pages/login";
import { render } from "./render";
import { newSession, SESSION_COOKIE, SESSION_COOKIE_OPTIONS, sealSession } from "./session";
import type { DashEnv } from "./types";

/**
 * Longest token accepted in the form (scoped tokens are 47 characters; SUNDIAL_TOKEN is whatever was
 * set): its sealed session must stay within the 4096 characters a cookie may hold (session.ts).
 */
const MAX_TOKEN_LENGTH = 2800;

/**
 * Where to go after signing in: a path of the dashboard, else /dash (never another site: only paths
 * that start with `/dash/` or are `/dash` itself, and no backslash, which some browsers read as `/`).
 */
export function safeNext(next: string | undefined): string {
	if (!next || next.length > 2048 || next.includes("\\")) return "/dash";
	return next === "/dash" || /^\/dash[/?][\x21-\x7e]*$/.test(next) ? next : "/dash";
}

/** The secret sessions are sealed with (SUNDIAL_TOKEN); none configured is a 503, as on the API. */
export function sessionSecret(c: Context<DashEnv>): string {
	const secret = getConfig(c.env).token;
	if (secret === null) {
		throw new AppError(503, "token_not_configured", "no API token is configured: set SUNDIAL_TOKEN");
	}
	return secret;
}

/** Refuses a request that does not come from a page of this origin (403). */
export function requireSameOrigin(c: Context<DashEnv>): void {
	const reason = crossSiteReason(c.req.raw.headers, new URL(c.req.url).origin);
	if (reason !== null) throw new AppError(403, "cross_site_request", `refused: ${reason}`);
}

/** The sign-in page with a status and a message (the 401 answer of every page without a session). */
export function signInPage(c: Context<DashEnv>, status: number, message: string | null, next: string) {
	return render(c, <LoginPage next={safeNext(next)} message={message} />, status);
}

/** GET and POST /dash/login: no session needed. */
export function signInRoutes(dash: Hono<DashEnv>): void {
	dash.get("/login", (c) => signInPage(c, 200, null, c.req.query("next") ?? "/dash"));

	dash.post("/login", async (c) => {
		requireSameOrigin(c);
		const secret = sessionSecret(c);
		const form = await readForm(c);
		const next = form.next ?? "/dash";
		const token = form.token?.trim();
		if (!token) return signInPage(c, 400, "Enter a token.", next);
		if (token.length > MAX_TOKEN_LENGTH) return signInPage(c, 400, "That is not a Sundial token (too long).", next);
		const principal = await verifyToken(c.env, secret, token);
		if (!principal) return signInPage(c, 401, "Wrong, revoked or expired token.", next);
		setCookie(c, SESSION_COOKIE, await sealSession(secret, newSession(token, Date.now())), SESSION_COOKIE_OPTIONS);
		return c.redirect(safeNext(next), 303);
	});
}

/** POST /dash/logout: clears the cookie. */
export function signOutRoute(dash: Hono<DashEnv>): void {
	// The session check and the CSRF check (routes.ts) run first: an unsigned or forged sign-out changes nothing.
	dash.post("/logout", (c) => {
		deleteCookie(c, SESSION_COOKIE, SESSION_COOKIE_OPTIONS);
		return c.redirect("/dash/login", 303);
	});
}
