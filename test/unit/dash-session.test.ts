import { describe, expect, it } from "vitest";
import { crossSiteReason } from "../../src/dash/csrf";
import { DASH_ROUTES, dash, ORIGIN, PUBLIC_DASH_ROUTES, sessionCookieOf, signIn } from "../dash-helpers";
import { json, TOKEN } from "../helpers";

/** Dashboard sign-in, the session cookie, sign-out and the security headers (docs/API.md "Dashboard"). */

describe("dashboard: sign-in and session", () => {
	it("sets an HttpOnly, Secure, SameSite=Strict cookie on /dash that does not hold the token in clear", async () => {
		const res = await dash("/dash/login", { form: { token: TOKEN, next: "/dash/topics/x" }, csrf: null });
		expect(res.status).toBe(303);
		expect(res.headers.get("location")).toBe("/dash/topics/x");
		const set = res.headers.get("set-cookie") ?? "";
		const [pair, ...attributes] = set.split(";").map((p) => p.trim());
		expect(pair).toMatch(/^sundial_session=[A-Za-z0-9_-]+$/);
		expect(attributes.sort()).toEqual(["HttpOnly", "Path=/dash", "SameSite=Strict", "Secure"]);
		expect(set).not.toContain(TOKEN);
		expect(atob((pair as string).split("=")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? "")).not.toContain(TOKEN);
	});

	it("answers a wrong token with a 401 sign-in page and no cookie", async () => {
		for (const token of ["wrong", `sdl_${"x".repeat(43)}`, "x".repeat(2800), "x".repeat(2801), "x".repeat(5000)]) {
			const res = await dash("/dash/login", { form: { token }, csrf: null });
			expect(res.status, `${token.slice(0, 10)} (${token.length})`).toBe(token.length > 2800 ? 400 : 401);
			expect(res.headers.get("set-cookie")).toBeNull();
			expect(await res.text()).toContain('name="token"');
		}
		const empty = await dash("/dash/login", { form: {}, csrf: null });
		expect(empty.status).toBe(400);
	});

	it("shows the sign-in page (401) for every page without a session, or with a forged one", async () => {
		for (const path of [
			"/dash",
			"/dash/topics/a",
			"/dash/message?topic=a&id=b",
			"/dash/topics/a/subscriptions/s/dead",
		]) {
			const res = await dash(path);
			expect(res.status, path).toBe(401);
			const html = await res.text();
			expect(html).toContain('action="/dash/login"');
			expect(html).toContain(`value="${path.replace(/&/g, "&amp;")}"`);
		}
		const forged = await dash("/dash", {
			session: { cookie: "sundial_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", csrf: "" },
		});
		expect(forged.status).toBe(401);
		expect(forged.headers.get("set-cookie")).toContain("Max-Age=0");
	});

	it("never redirects to another site after sign-in", async () => {
		for (const next of [
			"https://evil.example/",
			"//evil.example",
			"/dash\\@evil",
			"/dashboard",
			"javascript:alert(1)",
		]) {
			const res = await dash("/dash/login", { form: { token: TOKEN, next }, csrf: null });
			expect(res.headers.get("location"), next).toBe("/dash");
		}
	});

	it("refuses a sign-in posted from another site (403)", async () => {
		const res = await dash("/dash/login", {
			form: { token: TOKEN },
			csrf: null,
			headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
		});
		expect(res.status).toBe(403);
		expect(res.headers.get("set-cookie")).toBeNull();
	});

	it("ends the session when its scoped token is revoked", async () => {
		const made = await json<{ id: string; token: string }>("POST", "/v1/tokens", {
			name: "dash-rev",
			scopes: ["read"],
		});
		const session = await signIn(made.body.token);
		expect((await dash("/dash", { session })).status).toBe(200);
		expect((await json("DELETE", `/v1/tokens/${made.body.id}`)).status).toBe(200);
		const after = await dash("/dash", { session });
		expect(after.status).toBe(401);
		expect(await after.text()).toContain("session ended");
	});

	it("signs out only with the CSRF token, and clears the cookie", async () => {
		const session = await signIn();
		const forged = await dash("/dash/logout", { session, form: {}, csrf: "nope" });
		expect(forged.status).toBe(403);
		expect(forged.headers.get("set-cookie")).toBeNull();
		const out = await dash("/dash/logout", { session, form: {} });
		expect(out.status).toBe(303);
		expect(out.headers.get("location")).toBe("/dash/login");
		expect(out.headers.get("set-cookie")).toMatch(
			/^sundial_session=; Max-Age=0; Path=\/dash; HttpOnly; Secure; SameSite=Strict$/,
		);
	});
});

describe("dashboard: every route", () => {
	it("answers 401 without a session on every route but the sign-in form and the assets", async () => {
		for (const route of DASH_ROUTES) {
			const [method, template] = route.split(" ") as [string, string];
			const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => `${name}1`);
			const res = await dash(
				path,
				method === "POST" ? { form: {}, csrf: null } : { headers: { upgrade: "websocket" } },
			);
			const expected = PUBLIC_DASH_ROUTES.includes(route) ? (method === "POST" ? 400 : 200) : 401;
			expect(res.status, route).toBe(expected);
			await res.body?.cancel();
		}
	});

	it("refuses requests that name no origin or another one", () => {
		const own = "https://sundial.example";
		const check = (headers: Record<string, string>) => crossSiteReason(new Headers(headers), own);
		expect(check({})).toContain("names no origin");
		expect(check({ origin: own })).toBeNull();
		expect(check({ "sec-fetch-site": "same-origin" })).toBeNull();
		expect(check({ origin: own, "sec-fetch-site": "same-site" })).toContain("another site");
		expect(check({ origin: "https://sundial.example.evil" })).toContain("another origin");
		expect(check({ origin: "null" })).toContain("another origin");
		// What Chrome sends for a form under Referrer-Policy: no-referrer.
		expect(check({ origin: "null", "sec-fetch-site": "same-origin" })).toBeNull();
		expect(check({ origin: "null", "sec-fetch-site": "cross-site" })).toContain("another site");
	});
});

describe("dashboard: security headers", () => {
	it("sends a strict CSP, no framing and no referrer on pages, errors and assets", async () => {
		const session = await signIn();
		for (const [path, s] of [
			["/dash/login", null],
			["/dash", session],
			["/dash", null],
			["/dash/nope", session],
			["/dash/assets/live.js", null],
			["/dash/assets/dash.css", null],
		] as const) {
			const res = await dash(path, { session: s });
			const csp = res.headers.get("content-security-policy") ?? "";
			expect(csp, path).toContain("default-src 'none'");
			expect(csp).toContain("script-src 'self'");
			expect(csp).toContain("frame-ancestors 'none'");
			expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
			expect(res.headers.get("x-frame-options")).toBe("DENY");
			expect(res.headers.get("referrer-policy")).toBe("no-referrer");
			await res.body?.cancel();
		}
		expect(ORIGIN).toBe("http://sundial.test");
	});

	it("serves the live script and the stylesheet from /dash/assets, with no inline script on any page", async () => {
		const js = await dash("/dash/assets/live.js");
		expect(js.headers.get("content-type")).toContain("text/javascript");
		expect(await js.text()).toContain("sundial.tail.v1");
		const page = await (await dash("/dash", { session: await signIn() })).text();
		expect(page.startsWith("<!doctype html>")).toBe(true);
		expect(page).not.toMatch(/<script(?![^>]*\bsrc="\/dash\/assets\/)[^>]*>/);
		expect(page).not.toMatch(/\son[a-z]+=/i);
		expect(sessionCookieOf(js)).toBeNull();
	});
});
