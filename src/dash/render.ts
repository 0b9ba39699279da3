/**
 * Turning pages into responses: the doctype, the status, the security headers every dashboard answer
 * carries, and who is signed in (for the page header and which buttons to show).
 */
import type { Context } from "hono";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { holds, type Principal, reaches, type Scope } from "../tokens/scopes";
import type { Viewer } from "./pages/layout";
import type { DashEnv } from "./types";

/**
 * The Content-Security-Policy of every dashboard answer: nothing but this origin, scripts only from
 * /dash/assets (no inline script, no eval), no framing, forms post only here.
 */
export const CSP =
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The headers every dashboard answer carries (but a WebSocket's 101, which has no page). */
export const SECURITY_HEADERS: Record<string, string> = {
	"content-security-policy": CSP,
	"x-frame-options": "DENY",
	"referrer-policy": "no-referrer",
	"x-content-type-options": "nosniff",
	"cross-origin-opener-policy": "same-origin",
	"cross-origin-resource-policy": "same-origin",
};

/** Sets SECURITY_HEADERS on the answer after the handler ran (pages, errors and assets alike). */
export async function securityHeaders(c: Context<DashEnv>, next: () => Promise<void>): Promise<void> {
	await next();
	if (c.res.status === 101) return;
	for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
	if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
}

type Page = HtmlEscapedString | Promise<HtmlEscapedString>;

/** A page as an HTML answer with its status. */
export async function render(c: Context<DashEnv>, page: Page, status = 200): Promise<Response> {
	return c.html(html`<!doctype html>${await page}`, status as 200);
}

/** The signed-in viewer for the page header. */
export function viewerOf(c: Context<DashEnv>): Viewer {
	const p = c.get("principal");
	const who = p.kind === "admin" ? "admin token" : `token ${p.id} (${p.scopes.join(", ")} on ${p.topics.join(", ")})`;
	return { who, csrf: c.get("session").csrf };
}

/** Whether the signed-in token may use `scope` on `topic` (to show or hide an action; the API decides). */
export function may(principal: Principal, scope: Scope, topic: string): boolean {
	return holds(principal, scope) && reaches(principal, topic);
}
