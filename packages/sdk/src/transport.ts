import { parseRetryAfterMs, type RetryPolicy, retryDelayMs, sleep } from "./backoff.js";
import { SundialError, type SundialIssue } from "./errors.js";
import type { paths } from "./generated/openapi.js";

/** The HTTP methods the `/v1` API uses. */
export type Method = "get" | "put" | "post" | "delete";

/** A `/v1` path template of the OpenAPI document, e.g. `"/v1/topics/{topic}"`. */
export type ApiPath = keyof paths;

type Operation<P extends ApiPath, M extends Method> = NonNullable<paths[P][M]>;

/** The methods `P` answers. */
export type MethodOf<P extends ApiPath> = {
	[M in Method]: [Operation<P, M>] extends [never] ? never : M;
}[Method];

type PathParams<O> = O extends { parameters: { path: infer X } } ? X : undefined;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : undefined;
type BodyOf<O> = O extends { requestBody: { content: { "application/json": infer B } } }
	? B
	: O extends { requestBody?: { content: { "application/json": infer B } } }
		? B | undefined
		: undefined;
type JsonOf<R> = R extends { content: { "application/json": infer J } } ? J : never;

/** The JSON of the operation's 200 and 201 answers. */
export type OkBody<P extends ApiPath, M extends MethodOf<P>> =
	Operation<P, M> extends { responses: infer R }
		? (200 extends keyof R ? JsonOf<R[200]> : never) | (201 extends keyof R ? JsonOf<R[201]> : never)
		: never;

/** What one call carries, typed by its operation in the OpenAPI document. */
export interface CallArgs<P extends ApiPath, M extends MethodOf<P>> {
	params: PathParams<Operation<P, M>>;
	query?: QueryOf<Operation<P, M>>;
	body?: BodyOf<Operation<P, M>>;
	/** Whether repeating the call cannot do anything twice; only such calls are retried. */
	idempotent: boolean;
	/** Added to the client's per-attempt timeout (a long poll's wait). */
	extraTimeoutMs?: number;
	signal?: AbortSignal;
}

/** How the client talks to the API (what {@link Transport} needs of the options). */
export interface TransportConfig {
	baseUrl: string;
	token: string;
	fetch: typeof fetch;
	retry: RetryPolicy;
	timeoutMs: number;
	headers: Record<string, string>;
	/** Called with `"METHOD /path/template"` before each request (tests use it to see what was reached). */
	onRequest?: (route: string) => void;
}

/** Statuses worth repeating an idempotent call for. */
const RETRY_STATUSES = new Set([429, 503]);

/**
 * Sends `/v1` calls: builds the URL from the path template, adds the token, retries idempotent
 * calls after network errors and 429/503 answers, and turns every failure into a SundialError.
 * Every resource class is handed one.
 */
export class Transport {
	constructor(private readonly config: TransportConfig) {}

	/** Calls one operation and returns its parsed 2xx JSON. */
	async call<P extends ApiPath, M extends MethodOf<P>>(
		method: M,
		path: P,
		args: CallArgs<P, M>,
	): Promise<OkBody<P, M>> {
		const url = this.url(path, args.params as Record<string, string> | undefined, args.query);
		const body = args.body === undefined ? undefined : JSON.stringify(args.body);
		const route = `${method.toUpperCase()} ${path}`;
		const retries = args.idempotent ? this.config.retry.retries : 0;
		for (let attempt = 0; ; attempt++) {
			try {
				return (await this.once(route, method, url, body, args)) as OkBody<P, M>;
			} catch (error) {
				if (!(error instanceof SundialError) || attempt >= retries || !retryable(error)) throw error;
				await sleep(retryDelayMs(this.config.retry, attempt + 1, error.retryAfterMs), args.signal).catch(() => {
					throw aborted(args.signal);
				});
			}
		}
	}

	private async once(
		route: string,
		method: Method,
		url: string,
		body: string | undefined,
		args: { extraTimeoutMs?: number; signal?: AbortSignal },
	): Promise<unknown> {
		this.config.onRequest?.(route);
		const timeout = AbortSignal.timeout(this.config.timeoutMs + (args.extraTimeoutMs ?? 0));
		const { signal, release } = args.signal ? anySignal([timeout, args.signal]) : { signal: timeout, release() {} };
		try {
			return await this.exchange(route, method, url, body, signal, timeout, args.signal);
		} finally {
			release();
		}
	}

	private async exchange(
		route: string,
		method: Method,
		url: string,
		body: string | undefined,
		signal: AbortSignal,
		timeout: AbortSignal,
		callerSignal: AbortSignal | undefined,
	): Promise<unknown> {
		let res: Response;
		try {
			res = await this.config.fetch(url, {
				method: method.toUpperCase(),
				headers: {
					...this.config.headers,
					authorization: `Bearer ${this.config.token}`,
					...(body === undefined ? {} : { "content-type": "application/json" }),
				},
				body,
				signal,
			});
		} catch (error) {
			if (callerSignal?.aborted) throw aborted(callerSignal);
			if (timeout.aborted) {
				throw new SundialError(0, "timeout", `${route}: no answer within ${this.config.timeoutMs} ms`, {
					cause: error,
				});
			}
			throw new SundialError(0, "network_error", `${route}: ${describe(error)}`, { cause: error });
		}
		let text: string;
		try {
			text = await res.text();
		} catch (error) {
			if (callerSignal?.aborted) throw aborted(callerSignal);
			if (timeout.aborted) {
				throw new SundialError(0, "timeout", `${route}: the answer did not end within ${this.config.timeoutMs} ms`, {
					cause: error,
				});
			}
			throw new SundialError(0, "network_error", `${route}: the answer broke off: ${describe(error)}`, {
				cause: error,
			});
		}
		if (res.ok) return parseJson(route, res.status, text);
		throw apiError(route, res, text);
	}

	/**
	 * Opens a WebSocket to a route (the live tail): `ws(s)://` of the base URL, the token in a
	 * `sundial.auth.<base64url>` subprotocol beside `protocol` (browsers cannot set headers on one).
	 */
	socket(path: ApiPath, params: Record<string, string>, query: Record<string, string>, protocol: string): WebSocket {
		const Socket = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
		if (!Socket)
			throw new SundialError(0, "unsupported", "this runtime has no global WebSocket (Node ≥ 22, browsers, Deno)");
		this.config.onRequest?.(`GET ${path}`);
		const url = this.url(path, params, query).replace(/^http/, "ws");
		return new Socket(url, [protocol, `sundial.auth.${base64Url(this.config.token)}`]);
	}

	private url(path: string, params: Record<string, string> | undefined, query: unknown): string {
		const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
			const value = params?.[name];
			if (value === undefined) throw new SundialError(0, "invalid_request", `missing path parameter ${name}`);
			return encodeURIComponent(value);
		});
		const search = new URLSearchParams();
		for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
			if (value !== undefined && value !== null) search.set(key, String(value));
		}
		const qs = search.toString();
		return `${this.config.baseUrl}${filled}${qs === "" ? "" : `?${qs}`}`;
	}
}

/**
 * A signal that aborts when any of `signals` does: AbortSignal.any where it exists (Node ≥ 20.3,
 * Workers, Deno, current browsers), else an equivalent whose listeners `release` removes (`native` is
 * injectable: tests pass `null`).
 */
export function anySignal(
	signals: AbortSignal[],
	native: ((signals: AbortSignal[]) => AbortSignal) | null = AbortSignal.any?.bind(AbortSignal) ?? null,
): { signal: AbortSignal; release: () => void } {
	if (native) return { signal: native(signals), release() {} };
	const controller = new AbortController();
	const listeners = signals.map((source) => {
		const onAbort = () => controller.abort(source.reason);
		if (source.aborted) controller.abort(source.reason);
		else source.addEventListener("abort", onAbort, { once: true });
		return () => source.removeEventListener("abort", onAbort);
	});
	return {
		signal: controller.signal,
		release() {
			for (const remove of listeners) remove();
		},
	};
}

function retryable(error: SundialError): boolean {
	return error.code === "network_error" || error.code === "timeout" || RETRY_STATUSES.has(error.status);
}

function parseJson(route: string, status: number, text: string): unknown {
	if (text === "") return null;
	try {
		return JSON.parse(text);
	} catch (cause) {
		throw new SundialError(
			status,
			"invalid_response",
			`${route}: ${status} answer is not JSON: ${text.slice(0, 200)}`,
			{
				cause,
			},
		);
	}
}

/** The SundialError for a non-2xx answer: the API's error body when it has one. */
function apiError(route: string, res: Response, text: string): SundialError {
	const retryAfterMs = parseRetryAfterMs(res.headers.get("retry-after"));
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	const error = (parsed as { error?: unknown } | undefined)?.error;
	if (error !== null && typeof error === "object" && typeof (error as { code?: unknown }).code === "string") {
		const e = error as { code: string; message?: unknown; issues?: unknown };
		const issues = Array.isArray(e.issues) ? (e.issues as SundialIssue[]) : [];
		const message = typeof e.message === "string" ? e.message : e.code;
		return new SundialError(res.status, e.code, message, { issues, retryAfterMs });
	}
	return new SundialError(res.status, `http_${res.status}`, `${route}: ${res.status} ${text.slice(0, 200)}`, {
		retryAfterMs,
	});
}

function aborted(signal: AbortSignal | undefined): SundialError {
	return new SundialError(0, "aborted", "the call was aborted", { cause: signal?.reason });
}

function describe(error: unknown): string {
	if (error instanceof Error) {
		const cause = (error as { cause?: unknown }).cause;
		return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
	}
	return String(error);
}

/** UTF-8 text in unpadded base64url. */
function base64Url(text: string): string {
	let binary = "";
	for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
