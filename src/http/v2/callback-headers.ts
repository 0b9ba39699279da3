/**
 * The callback headers of a `/v2` publish, batch item or schedule (QSTASH.md "Callbacks"):
 * `Upstash-Callback` / `Upstash-Failure-Callback` and their `-Method`, `-Timeout`, `-Retries`,
 * `-Retry-Delay`, `-Delay` and `-Forward-*` settings. Pure; a bad value is a 400 naming the header.
 */

import { parseUpstashDelayMs, parseUpstashTimeoutMs } from "../../delivery/qstash-durations";
import { QstashHeaderError } from "../../delivery/qstash-header-error";
import { QSTASH_DEFAULT_RETRIES } from "../../delivery/qstash-retry";
import { parseRetryDelayExpression } from "../../delivery/qstash-retry-expression";
import { checkWebhookUrl } from "../../delivery/url-guard";
import type { CallbackTarget } from "../../topic/types";

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);
/** Forwarded headers per callback, as for the message itself. */
const MAX_FORWARDED = 32;
const HEADER_VALUE = /^[\t\x20-\x7e]{0,2048}$/;

/** The callback headers as `/openapi.json` documents them on publish and schedules. */
export const CALLBACK_HEADER_DOCS: Record<string, string> = {
	"Upstash-Callback":
		"URL that gets a signed POST after every attempt: {status, header, body (base64), retried, maxRetries, sourceMessageId, url, sourceBody, …}",
	"Upstash-Failure-Callback": "URL that gets the same body plus dlqId once, when the message goes to the DLQ",
	"Upstash-Callback-Method": "the callback's method (default POST); also Upstash-Failure-Callback-Method",
	"Upstash-Callback-Retries": "the callback's retries, 0–99 (default 3); also Upstash-Failure-Callback-Retries",
	"Upstash-Callback-Retry-Delay": "the callback's retry-delay expression; also Upstash-Failure-Callback-Retry-Delay",
	"Upstash-Callback-Timeout": "the callback's timeout (default 30s); also Upstash-Failure-Callback-Timeout",
	"Upstash-Callback-Delay": "how long after the attempt the callback is sent; also Upstash-Failure-Callback-Delay",
	"Upstash-Callback-Forward-*": "delivered to the callback without the prefix; also Upstash-Failure-Callback-Forward-*",
};

/** The two callbacks a message may carry; null = none. */
export interface Callbacks {
	callback: CallbackTarget | null;
	failureCallback: CallbackTarget | null;
}

/**
 * Reads both callbacks. `get` looks a header up (request headers, then the destination's
 * `upstash-<x>` query parameters); `headers` are the request's own, where `-Forward-*` are read.
 * Settings without their URL header are ignored, as every other unknown header is.
 */
export function readCallbacks(
	get: (name: string) => string | null,
	headers: Headers,
	opts: { allowHttp: boolean },
): Callbacks {
	return {
		callback: readTarget("Upstash-Callback", get, headers, opts),
		failureCallback: readTarget("Upstash-Failure-Callback", get, headers, opts),
	};
}

function readTarget(
	prefix: string,
	get: (name: string) => string | null,
	headers: Headers,
	opts: { allowHttp: boolean },
): CallbackTarget | null {
	const raw = get(prefix);
	if (raw === null) return null;
	const checked = checkWebhookUrl(raw.trim(), { allowHttp: opts.allowHttp });
	if (!checked.ok) throw new QstashHeaderError(prefix, checked.reason);
	const setting = (name: string) => get(`${prefix}-${name}`);

	const method = (setting("Method") ?? "POST").trim().toUpperCase();
	if (!METHODS.has(method))
		throw new QstashHeaderError(`${prefix}-Method`, `must be one of ${[...METHODS].join(", ")}`);

	const retriesText = setting("Retries")?.trim() ?? null;
	if (retriesText !== null && (!/^\d{1,2}$/.test(retriesText) || Number(retriesText) > 99)) {
		throw new QstashHeaderError(`${prefix}-Retries`, "must be an integer from 0 to 99");
	}
	const retryDelay = setting("Retry-Delay");
	if (retryDelay !== null) renamed(`${prefix}-Retry-Delay`, () => parseRetryDelayExpression(retryDelay));

	return {
		url: checked.url.href,
		method: method as CallbackTarget["method"],
		retries: retriesText === null ? QSTASH_DEFAULT_RETRIES : Number(retriesText),
		retryDelay,
		timeoutMs: renamed(`${prefix}-Timeout`, () => parseUpstashTimeoutMs(setting("Timeout"))),
		delayMs: renamed(`${prefix}-Delay`, () => parseUpstashDelayMs(setting("Delay"))),
		forward: forwarded(prefix, headers),
	};
}

/** Runs a parser of the message's own header, its 400 naming the callback's header instead. */
function renamed<T>(header: string, parse: () => T): T {
	try {
		return parse();
	} catch (error) {
		if (!(error instanceof QstashHeaderError)) throw error;
		throw new QstashHeaderError(header, error.message.slice(error.header.length + 2));
	}
}

/** `<prefix>-Forward-X: v` as `X: v`. */
function forwarded(prefix: string, headers: Headers): Record<string, string> {
	const pattern = new RegExp(`^${prefix}-forward-(.+)$`, "i");
	const out: Record<string, string> = {};
	for (const [name, value] of headers) {
		const match = pattern.exec(name);
		if (!match) continue;
		if (!HEADER_VALUE.test(value)) {
			throw new QstashHeaderError(
				`${prefix}-Forward-${match[1]}`,
				"value must be printable ASCII, at most 2048 characters",
			);
		}
		out[match[1] as string] = value;
	}
	if (Object.keys(out).length > MAX_FORWARDED) {
		throw new QstashHeaderError(`${prefix}-Forward-*`, `at most ${MAX_FORWARDED} forwarded headers`);
	}
	return out;
}
