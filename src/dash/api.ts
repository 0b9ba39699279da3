/**
 * The dashboard reads and acts through Sundial's own JSON API, called in-process with the session's
 * token as the bearer: every page and action gets exactly the API's validation, scopes and errors,
 * and a route the API does not have yet (a newer feature) is a plain 404 the page can show as "not
 * available".
 */
import type { Context, ExecutionContext } from "hono";
import { AppError, type ErrorBody, type ErrorStatus } from "../errors";
import type { DashEnv } from "./types";

/** What the API answered: its status and parsed JSON (null when not JSON). */
export interface ApiAnswer<T> {
	status: number;
	body: T | null;
}

/** Calls the API as the session's token. `body` is sent as JSON. */
export async function apiCall<T>(
	c: Context<DashEnv>,
	method: string,
	path: string,
	body?: unknown,
): Promise<ApiAnswer<T>> {
	const headers: Record<string, string> = { authorization: `Bearer ${c.get("session").token}` };
	if (body !== undefined) headers["content-type"] = "application/json";
	const request = new Request(new URL(path, c.req.url), {
		method,
		headers,
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const res = await c.get("api")(request, c.env, executionContext(c));
	const text = await res.text();
	let parsed: unknown = null;
	try {
		parsed = text === "" ? null : JSON.parse(text);
	} catch {
		parsed = null;
	}
	return { status: res.status, body: parsed as T | null };
}

/** Calls the API; an error answer is thrown as the AppError it carries (the page then shows it with its status). */
export async function apiOk<T>(c: Context<DashEnv>, method: string, path: string, body?: unknown): Promise<T> {
	const answer = await apiCall<T | { error: ErrorBody }>(c, method, path, body);
	if (answer.status >= 200 && answer.status < 300 && answer.body !== null) return answer.body as T;
	throw toAppError(answer);
}

/** The error an API answer carries (its code, message and issues), with its status. */
export function toAppError(answer: ApiAnswer<unknown>): AppError {
	const error = (answer.body as { error?: ErrorBody } | null)?.error;
	const status = answer.status as ErrorStatus;
	if (error && typeof error.message === "string") return AppError.from({ ...error, status });
	return new AppError(status, "api_error", `the API answered ${answer.status}`);
}

/** `/v1` path of a topic (and more segments), each part percent-encoded. */
export function topicPath(topic: string, ...rest: string[]): string {
	return ["/v1/topics", topic, ...rest].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join("/");
}

function executionContext(c: Context<DashEnv>): ExecutionContext | undefined {
	try {
		return c.executionCtx;
	} catch {
		return undefined;
	}
}
