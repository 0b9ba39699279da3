/**
 * The dashboard at /dash (README "Dashboard", docs/API.md "Dashboard"): HTML pages rendered with Hono's
 * JSX, reading and acting through the JSON API as the signed-in token. Order of the checks: security
 * headers on every answer; assets and sign-in need nothing; everything else needs a session whose token
 * still verifies (else the sign-in page, 401); every POST must come from this origin and carry the
 * session's CSRF token (else 403, nothing changed); the API then applies the token's scopes.
 */
import { Hono } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import { AppError } from "../errors";
import { verifyToken } from "../http/auth";
import { actionRoutes } from "./actions";
import { DASH_CSS, ICON_SVG, LIVE_JS } from "./assets";
import { CSRF_FIELD, csrfMatches } from "./csrf";
import { readForm } from "./forms";
import { pageRoutes } from "./page-routes";
import { ErrorPage } from "./pages/error";
import { render, securityHeaders, viewerOf } from "./render";
import { openSession, SESSION_COOKIE, SESSION_COOKIE_OPTIONS } from "./session";
import { requireSameOrigin, sessionSecret, signInPage, signInRoutes, signOutRoute } from "./sign-in";
import { tailRoute } from "./tail";
import { totalsRoute } from "./totals";
import type { ApiFetch, DashEnv } from "./types";

/** The dashboard's routes, to mount at /dash; `api` is the JSON API's fetch (src/http/app.ts). */
export function dashboard(api: ApiFetch): Hono<DashEnv> {
	const dash = new Hono<DashEnv>();
	dash.use("*", securityHeaders);
	dash.use("*", async (c, next) => {
		c.set("api", api);
		await next();
	});

	const asset = (type: string, text: string) => () =>
		new Response(text, { headers: { "content-type": type, "cache-control": "no-cache" } });
	dash.get("/assets/dash.css", asset("text/css; charset=utf-8", DASH_CSS));
	dash.get("/assets/live.js", asset("text/javascript; charset=utf-8", LIVE_JS));
	dash.get("/assets/icon.svg", asset("image/svg+xml", ICON_SVG));
	signInRoutes(dash);

	// Everything below needs a session whose token still verifies.
	dash.use("*", async function dashSession(c, next) {
		const secret = sessionSecret(c);
		const sealed = getCookie(c, SESSION_COOKIE);
		const session = sealed ? await openSession(secret, sealed, Date.now()) : null;
		const principal = session ? await verifyToken(c.env, secret, session.token) : null;
		if (!session || !principal) {
			if (sealed) deleteCookie(c, SESSION_COOKIE, SESSION_COOKIE_OPTIONS);
			const url = new URL(c.req.url);
			const next = c.req.method === "GET" ? `${url.pathname}${url.search}` : "/dash";
			const why = sealed ? "Your session ended (expired, or its token was revoked): sign in again." : null;
			return signInPage(c, 401, why, next);
		}
		c.set("session", session);
		c.set("principal", principal);
		await next();
	});

	// Every POST: from a page of this origin, with the session's CSRF token.
	dash.use("*", async function dashCsrf(c, next) {
		if (c.req.method !== "POST") return next();
		requireSameOrigin(c);
		const form = await readForm(c);
		if (!(await csrfMatches(c.get("session").csrf, form[CSRF_FIELD] ?? null))) {
			throw new AppError(403, "csrf_failed", "refused: the form's CSRF token is missing or wrong; reload the page");
		}
		c.set("form", form);
		await next();
	});

	signOutRoute(dash);
	pageRoutes(dash);
	actionRoutes(dash);
	tailRoute(dash);
	totalsRoute(dash);
	dash.all("*", () => {
		throw new AppError(404, "not_found", "no such page of the dashboard");
	});

	dash.onError((error, c) => {
		const signedIn = c.get("principal") !== undefined && c.get("session") !== undefined;
		if (!(error instanceof AppError)) {
			console.error("sundial: dashboard error", error);
			error = new AppError(500, "internal", "internal error; it has been logged");
		}
		const e = error as AppError;
		return render(
			c,
			<ErrorPage
				status={e.status}
				code={e.code}
				message={e.message}
				issues={e.issues}
				viewer={signedIn ? viewerOf(c) : null}
			/>,
			e.status,
		);
	});
	return dash;
}
