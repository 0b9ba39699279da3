/**
 * Cross-site request forgery defences of the dashboard (docs/API.md "Dashboard"): every state-changing
 * request must come from a page of this origin (Origin / Sec-Fetch-Site) and, once signed in, carry
 * the session's CSRF token in a hidden form field. Either failing is a 403 and nothing changes.
 */

/** The hidden form field holding the CSRF token. */
export const CSRF_FIELD = "csrf";

/**
 * Why a request does not come from a page of `ownOrigin`, or null when it does. `Sec-Fetch-Site`
 * (sent by every current browser, and not settable by scripts) must be `same-origin`; `Origin` must be
 * ours. Under the dashboard's `Referrer-Policy: no-referrer` a browser sends a form's `Origin` as
 * `null`, which passes only beside `Sec-Fetch-Site: same-origin`. A request with neither is refused:
 * browsers send at least `Origin` on every POST and WebSocket handshake.
 */
export function crossSiteReason(headers: Headers, ownOrigin: string): string | null {
	const site = headers.get("sec-fetch-site");
	if (site !== null && site !== "same-origin") return `the request came from another site (Sec-Fetch-Site: ${site})`;
	const origin = headers.get("origin");
	if (origin === "null" && site === "same-origin") return null;
	if (origin !== null && origin !== ownOrigin) return `the request came from another origin (${origin})`;
	if (origin === null && site === null) return "the request names no origin (no Origin or Sec-Fetch-Site header)";
	return null;
}

const encoder = new TextEncoder();

/** True when the form's CSRF token is the session's (compared in constant time, both hashed to one length first). */
export async function csrfMatches(expected: string, given: string | null): Promise<boolean> {
	if (given === null || given === "") return false;
	const [a, b] = await Promise.all([
		crypto.subtle.digest("SHA-256", encoder.encode(expected)),
		crypto.subtle.digest("SHA-256", encoder.encode(given)),
	]);
	return crypto.subtle.timingSafeEqual(a, b);
}
