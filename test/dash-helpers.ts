import { exports } from "cloudflare:workers";
import { TOKEN } from "./helpers";

/** The origin the workerd tests call the Worker at. */
export const ORIGIN = "http://sundial.test";

/** A signed-in dashboard session: its cookie and the CSRF token its pages carry. */
export interface DashSession {
	cookie: string;
	csrf: string;
}

/** Options of dash(). */
export interface DashRequest {
	method?: string;
	session?: DashSession | null;
	/** Form fields (sent urlencoded); the session's CSRF token is added unless `csrf` is given. */
	form?: Record<string, string>;
	/** The CSRF field to send instead of the session's (null: none). */
	csrf?: string | null;
	/** Headers to add (e.g. a foreign Origin; "" removes one); by default a same-origin browser's Origin and Sec-Fetch-Site. */
	headers?: Record<string, string>;
}

/** Calls a dashboard route the way a browser on the dashboard's own page would. */
export function dash(path: string, opts: DashRequest = {}): Promise<Response> {
	const method = opts.method ?? (opts.form ? "POST" : "GET");
	const headers: Record<string, string> = {};
	if (method !== "GET") Object.assign(headers, { origin: ORIGIN, "sec-fetch-site": "same-origin" });
	if (opts.session) headers.cookie = opts.session.cookie;
	let body: string | undefined;
	if (opts.form) {
		const fields = { ...opts.form };
		const csrf = opts.csrf === undefined ? opts.session?.csrf : opts.csrf;
		if (csrf !== null && csrf !== undefined) fields.csrf = csrf;
		body = new URLSearchParams(fields).toString();
		headers["content-type"] = "application/x-www-form-urlencoded";
	}
	Object.assign(headers, opts.headers ?? {});
	for (const [name, value] of Object.entries(headers)) if (value === "") delete headers[name];
	return exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }));
}

/** The session cookie (name=value) a sign-in answer sets, or null. */
export function sessionCookieOf(res: Response): string | null {
	const set = res.headers.get("set-cookie");
	return set ? (set.split(";")[0] ?? null) : null;
}

/** The CSRF token a page's forms carry. */
export function csrfOf(html: string): string {
	const found = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
	if (!found) throw new Error("no CSRF field on the page");
	return found;
}

/** Signs in with `token` (the admin token by default) and reads the CSRF token from the topics page. */
export async function signIn(token = TOKEN): Promise<DashSession> {
	const res = await dash("/dash/login", { form: { token }, csrf: null });
	const cookie = sessionCookieOf(res);
	if (res.status !== 303 || !cookie) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
	const page = await dash("/dash", { session: { cookie, csrf: "" } });
	return { cookie, csrf: csrfOf(await page.text()) };
}

/**
 * Every route of the dashboard. They are HTML for a browser with a session cookie, not the JSON API, so
 * they stay out of /openapi.json (as /docs does) and out of the bearer-token walk of tokens.test.ts;
 * docs/API.md "Dashboard" lists them (api-doc.test.ts), and dash-session.test.ts walks them instead:
 * 401 without a session, but for the sign-in form and the assets (PUBLIC_DASH_ROUTES).
 */
export const DASH_ROUTES = [
	"GET /dash",
	"GET /dash/login",
	"POST /dash/login",
	"POST /dash/logout",
	"GET /dash/assets/dash.css",
	"GET /dash/assets/live.js",
	"GET /dash/assets/icon.svg",
	"GET /dash/message",
	"GET /dash/topics/{topic}",
	"GET /dash/topics/{topic}/subscriptions/{name}/dead",
	"GET /dash/topics/{topic}/tail",
	"GET /dash/topics.json",
	"POST /dash/topics/{topic}/publish",
	"POST /dash/topics/{topic}/subscriptions/{name}/redrive",
	"POST /dash/topics/{topic}/subscriptions/{name}/purge",
	"POST /dash/topics/{topic}/schedules/{name}/pause",
	"POST /dash/topics/{topic}/schedules/{name}/resume",
];

/** The dashboard routes that need no session. */
export const PUBLIC_DASH_ROUTES = [
	"GET /dash/login",
	"POST /dash/login",
	"GET /dash/assets/dash.css",
	"GET /dash/assets/live.js",
	"GET /dash/assets/icon.svg",
];
