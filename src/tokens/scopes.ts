/**
 * Scoped access (DESIGN.md "Tokens (scoped access)"): what a request may do. `SUNDIAL_TOKEN` is the
 * admin; a scoped token holds some of the scopes, for topics matching its patterns.
 */

export const SCOPES = ["publish", "consume", "read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who made a request: the admin token, or a scoped token (by id). */
export type Principal =
	| { kind: "admin" }
	| { kind: "token"; id: string; scopes: readonly Scope[]; topics: readonly string[] };

/** A topic pattern: a name, or a prefix ending in `*` (`*` alone: every topic). */
export const TOPIC_PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\*?)$/;

/** True when `topic` matches one of the patterns. */
export function topicAllowed(patterns: readonly string[], topic: string): boolean {
	return patterns.some((p) => (p.endsWith("*") ? topic.startsWith(p.slice(0, -1)) : p === topic));
}

/** True when the principal holds `scope` (admin holds every scope). */
export function holds(principal: Principal, scope: Scope): boolean {
	return principal.kind === "admin" || principal.scopes.includes("admin") || principal.scopes.includes(scope);
}

/** True when the principal may act on `topic` (its patterns; the admin on all). */
export function reaches(principal: Principal, topic: string): boolean {
	return principal.kind === "admin" || topicAllowed(principal.topics, topic);
}
