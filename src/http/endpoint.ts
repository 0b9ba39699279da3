import type { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getConfig } from "../config";
import { AppError, InvalidRequest, TooLarge } from "../errors";
import { readAtMost } from "../streams";
import type { Scope } from "../tokens/scopes";
import { SYSTEM_TOPIC } from "../topic/client/system-topic";
import { validate } from "../validation";
import { authorize } from "./auth";
import { errors } from "./schemas";
import type { HonoEnv } from "./types";
import { qstashErrors } from "./v2/shared";

type Method = "get" | "put" | "post" | "patch" | "delete";
type AnyObject = z.ZodType<Record<string, unknown>>;

/** A route: its schemas validate the request and document it in /openapi.json. */
export interface EndpointSpec<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
	method: Method;
	/** OpenAPI-style path, e.g. `/v1/topics/{topic}`. */
	path: string;
	tag: string;
	summary: string;
	description?: string;
	/**
	 * The scope a token needs (README "Tokens"); checked before anything else, with the path's
	 * topic (`topic`, or a URL group's `name`) against the token's topic patterns.
	 */
	scope: Scope;
	params?: P;
	query?: Q;
	body?: B;
	/** Documents the body when validation is looser than the documented shape (batch items). */
	docBody?: z.ZodType;
	/** Each status's answer; JSON unless `mediaType` names another type (the `/metrics` text). */
	responses: Record<number, { description: string; schema?: z.ZodType; mediaType?: string }>;
}

/** The validated input a handler receives. */
export interface EndpointInput<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
	params: z.output<P>;
	query: z.output<Q>;
	body: z.output<B>;
}

const JSON_TYPES = /^(application\/json|application\/[\w.+-]+\+json|application\/x-www-form-urlencoded)\s*(;|$)/i;

/** Strict UTF-8 (a bad byte throws). Stateless between whole-buffer `decode` calls, so shared. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads a JSON request body within the size limit. A missing or empty body is `{}`. JSON is
 * accepted as `application/json`, `+json`, or unlabelled, and as curl's `-d` default
 * (`application/x-www-form-urlencoded`); any other declared type is a 415.
 */
export async function readJsonBody(c: Context<HonoEnv>): Promise<unknown> {
	const limit = getConfig(c.env).maxRequestBytes;
	const length = c.req.header("content-length");
	const declared = Number(length ?? "0");
	if (declared > limit) throw new TooLarge("request_too_large", `request body is over ${limit} bytes`);
	const type = c.req.header("content-type");
	if (type && !JSON_TYPES.test(type.trim())) {
		throw new AppError(415, "unsupported_media_type", `request body must be JSON (application/json), got "${type}"`);
	}
	const body = c.req.raw.body;
	if (!body) return {};
	// A body of a declared length within the limit is read whole, natively: pulling it chunk by
	// chunk through a reader took ~10 % of workerd's CPU per single publish (perf), this ~5 %.
	// The size is checked again in case the declared length was not what came.
	const bytes =
		length !== undefined && /^\d+$/.test(length)
			? new Uint8Array(await c.req.raw.arrayBuffer())
			: await readAtMost(body, limit);
	if (!bytes || bytes.byteLength > limit) {
		throw new TooLarge("request_too_large", `request body is over ${limit} bytes`);
	}
	let text: string;
	try {
		text = utf8.decode(bytes);
	} catch {
		throw new InvalidRequest("request body is not valid UTF-8");
	}
	if (text.trim() === "") return {};
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new InvalidRequest(`request body is not valid JSON: ${(error as Error).message}`);
	}
}

/**
 * The topic a route acts on, for the token's topic patterns: `/v1`'s `{topic}`; a URL group's
 * `{name}` under `/v2/topics`; any other `/v2` route the system topic (URL publishes, queues, the
 * lists over every group), which only a token for every topic (`*`) reaches; else none.
 */
function topicOfRoute(path: string, params: Record<string, string>): string | null {
	if (params.topic !== undefined) return params.topic;
	if (path.startsWith("/v2/topics/{name}")) return params.name ?? null;
	if (path.startsWith("/v2/")) return SYSTEM_TOPIC;
	return null;
}

/**
 * What every route can answer, in the error shape of its API (`/v2`: QStash's): 401 and 403, and
 * 503 (a topic's object did not answer, the topic is being re-created, or a variable is invalid).
 */
const commonErrors = (path: string): EndpointSpec<AnyObject, AnyObject, z.ZodType>["responses"] =>
	path.startsWith("/v2/") ? qstashErrors(401, 403, 503) : errors(401, 403, 503);

/** Registers a route on the app and in its OpenAPI document, with validation before the handler. */
export function endpoint<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(
	app: OpenAPIHono<HonoEnv>,
	spec: EndpointSpec<P, Q, B>,
	handler: (c: Context<HonoEnv>, input: EndpointInput<P, Q, B>) => Promise<Response> | Response,
): void {
	const docBody = spec.docBody ?? spec.body;
	app.openAPIRegistry.registerPath({
		method: spec.method,
		path: spec.path,
		tags: [spec.tag],
		summary: spec.summary,
		description: spec.description,
		security: [{ bearer: [spec.scope] }],
		"x-sundial-scope": spec.scope,
		request: {
			params: spec.params as never,
			query: spec.query as never,
			body: docBody ? { required: true, content: { "application/json": { schema: docBody } } } : undefined,
		},
		responses: Object.fromEntries(
			Object.entries({ ...commonErrors(spec.path), ...spec.responses }).map(([status, r]) => [
				status,
				r.schema
					? { description: r.description, content: { [r.mediaType ?? "application/json"]: { schema: r.schema } } }
					: { description: r.description },
			]),
		),
	});
	const honoPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
	app.on(spec.method.toUpperCase(), honoPath, async (c) => {
		const raw = c.req.param() as Record<string, string>;
		authorize(c, spec.scope, topicOfRoute(spec.path, raw));
		const params = spec.params ? validate(spec.params, raw, "path parameter") : {};
		const query = spec.query ? validate(spec.query, c.req.query(), "query parameter") : {};
		const body = spec.body ? validate(spec.body, await readJsonBody(c), "request body") : undefined;
		const res = await handler(c, { params, query, body } as EndpointInput<P, Q, B>);
		if (getConfig(c.env).checkResponses) await checkResponse(spec, res);
		return res;
	});
}

/**
 * Throws when a JSON answer does not match the schema documented for its status (what
 * SUNDIAL_CHECK_RESPONSES turns on): the documentation and the code must not drift apart.
 */
async function checkResponse(
	spec: { method: Method; path: string; responses: EndpointSpec<AnyObject, AnyObject, z.ZodType>["responses"] },
	res: Response,
): Promise<void> {
	const documented = spec.responses[res.status];
	if (!documented)
		throw new Error(`${spec.method.toUpperCase()} ${spec.path} answered ${res.status}, which it does not document`);
	const type = res.headers.get("content-type") ?? "";
	if (!documented.schema || documented.mediaType || !type.startsWith("application/json")) return;
	const result = documented.schema.safeParse(await res.clone().json());
	if (!result.success) {
		const issues = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
		throw new Error(
			`${spec.method.toUpperCase()} ${spec.path} answered ${res.status} off its documented schema: ${issues}`,
		);
	}
}
