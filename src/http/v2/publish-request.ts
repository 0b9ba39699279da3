/**
 * Reading a `/v2` publish (QSTASH.md "Publishing", "Request headers"): the raw destination, the
 * `Upstash-*` headers (also as `upstash-<x>` query parameters of the destination) and the raw body,
 * into one plain description of what to schedule. Pure: no storage, no clock but `nowMs`.
 */

import { parseUpstashDelayMs, parseUpstashTimeoutMs, QSTASH_MAX_DELAY_MS } from "../../delivery/qstash-durations";
import { type FlowControlValue, readFlowControl, readQueueName } from "../../delivery/qstash-flow-control";
import { QstashHeaderError } from "../../delivery/qstash-header-error";
import { QSTASH_DEFAULT_RETRIES } from "../../delivery/qstash-retry";
import { parseRetryDelayExpression } from "../../delivery/qstash-retry-expression";
import { AppError, InvalidRequest } from "../../errors";
import { NAME_PATTERN } from "../../validation";
import { unsupported } from "./shared";

/** Where a publish goes: one URL, or every webhook endpoint of a URL group (a topic). */
export type Destination = { kind: "url"; url: string } | { kind: "group"; name: string };

/** A `/v2` publish, read and checked. */
export interface QstashPublish {
	destination: Destination;
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	/** As sent; null = none is delivered. */
	contentType: string | null;
	/** Delivered as is (`Upstash-Forward-X: v` → `X: v`), names as given. */
	forward: Record<string, string>;
	deliverAtMs: number;
	/** `Upstash-Deduplication-Id`, or null (content-based dedup is computed by the caller). */
	deduplicationId: string | null;
	contentBasedDeduplication: boolean;
	retries: number;
	/** The `Upstash-Retry-Delay` source (parsed once here, so a bad one is a 400 now). */
	retryDelay: string | null;
	timeoutMs: number;
	labels: string[];
	/** `Upstash-Flow-Control-Key` and `-Value`, or null. */
	flowControl: FlowControlValue | null;
	/** The queue it is enqueued to (`/v2/enqueue/{queue}/…`, a batch item's `queue`, `Upstash-Queue-Name`), or null. */
	queue: string | null;
}

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);
/** Headers that are never forwarded with `Upstash-Header-Forward: true`. */
const NOT_FORWARDED =
	/^(authorization|host|content-length|connection|keep-alive|transfer-encoding|te|trailer|upgrade|proxy-.*|cf-.*|x-forwarded-.*|x-real-ip|upstash-.*)$/i;
/** Features QSTASH.md puts out of scope, by header prefix. */
const UNSUPPORTED: [RegExp, string][] = [[/^upstash-redact-fields$/i, "redacting fields"]];
const MAX_FORWARDED = 32;
const HEADER_VALUE = /^[\t\x20-\x7e]{0,2048}$/;

/**
 * Splits the raw destination (the path after `/v2/publish/` plus the raw query): a URL keeps its
 * query minus `upstash-<x>` parameters, which come back as headers (a real header wins).
 */
export function readDestination(raw: string): { destination: Destination; queryHeaders: Headers } {
	const queryHeaders = new Headers();
	const fixed = raw.replace(/^(https?):\/(?!\/)/i, "$1://");
	if (/^https?:\/\//i.test(fixed)) {
		let url: URL;
		try {
			url = new URL(fixed);
		} catch {
			throw new InvalidRequest(`destination is not a URL: ${raw}`);
		}
		for (const [key, value] of [...url.searchParams]) {
			if (!/^upstash-/i.test(key)) continue;
			queryHeaders.set(key, value);
			url.searchParams.delete(key);
		}
		return { destination: { kind: "url", url: url.href }, queryHeaders };
	}
	if (/^api\//.test(raw)) throw unsupported("the api/ destinations (LLM, email)");
	let name: string;
	try {
		name = decodeURIComponent(raw.split("?")[0] ?? "");
	} catch {
		throw new InvalidRequest(`destination is not a valid percent-encoded URL group name: "${raw.slice(0, 200)}"`);
	}
	if (!NAME_PATTERN.test(name)) {
		throw new InvalidRequest(`destination must be an http(s) URL or a URL group name, got "${raw}"`);
	}
	return { destination: { kind: "group", name }, queryHeaders };
}

/** Reads a publish's headers (request headers win over the destination's `upstash-<x>` parameters). */
export function readPublish(
	destination: Destination,
	headers: Headers,
	queryHeaders: Headers,
	nowMs: number,
	queueName: string | null = null,
): QstashPublish {
	const get = (name: string) => headers.get(name) ?? queryHeaders.get(name);
	for (const name of [...headers.keys(), ...queryHeaders.keys()]) {
		for (const [pattern, feature] of UNSUPPORTED) if (pattern.test(name)) throw unsupported(feature);
	}
	const method = (get("upstash-method") ?? "POST").toUpperCase();
	if (!METHODS.has(method)) throw new QstashHeaderError("Upstash-Method", `must be one of ${[...METHODS].join(", ")}`);

	const notBefore = get("upstash-not-before");
	let deliverAtMs: number;
	if (notBefore !== null) {
		if (!/^\d{1,12}$/.test(notBefore.trim())) throw new QstashHeaderError("Upstash-Not-Before", "must be unix seconds");
		deliverAtMs = Number(notBefore.trim()) * 1000;
		if (deliverAtMs > nowMs + QSTASH_MAX_DELAY_MS)
			throw new QstashHeaderError("Upstash-Not-Before", "at most 365 days ahead");
	} else {
		deliverAtMs = nowMs + parseUpstashDelayMs(get("upstash-delay"));
	}

	const retriesText = get("upstash-retries");
	const retries = retriesText === null ? QSTASH_DEFAULT_RETRIES : Number(retriesText.trim());
	if (
		!Number.isInteger(retries) ||
		retries < 0 ||
		retries > 99 ||
		(retriesText !== null && !/^\d+$/.test(retriesText.trim()))
	) {
		throw new QstashHeaderError("Upstash-Retries", "must be an integer from 0 to 99");
	}
	const retryDelay = get("upstash-retry-delay");
	if (retryDelay !== null) parseRetryDelayExpression(retryDelay);

	const dedup = get("upstash-deduplication-id");
	if (dedup !== null && (dedup.length === 0 || dedup.length > 256)) {
		throw new QstashHeaderError("Upstash-Deduplication-Id", "must be 1–256 characters");
	}

	const queueHeader = get("upstash-queue-name");
	const queue = queueName ?? (queueHeader === null ? null : readQueueName(queueHeader, "Upstash-Queue-Name"));
	const flowControl = readFlowControl(get("upstash-flow-control-key"), get("upstash-flow-control-value"));
	if (queue !== null) {
		if (destination.kind !== "url") throw new InvalidRequest("a queue takes URL destinations, not URL groups");
		if (flowControl !== null) {
			throw new QstashHeaderError("Upstash-Flow-Control-Key", "a queued message cannot carry a flow-control key");
		}
		if (get("upstash-delay") !== null || notBefore !== null) {
			throw new QstashHeaderError("Upstash-Delay", "a queued message goes in order: no delay");
		}
	}

	return {
		destination,
		method: method as QstashPublish["method"],
		contentType: headers.get("content-type"),
		forward: forwarded(headers, get("upstash-header-forward") === "true"),
		deliverAtMs,
		deduplicationId: dedup,
		contentBasedDeduplication: (get("upstash-content-based-deduplication") ?? "").toLowerCase() === "true",
		retries,
		retryDelay,
		timeoutMs: parseUpstashTimeoutMs(get("upstash-timeout")),
		labels: (get("upstash-label") ?? "")
			.split(",")
			.map((l) => l.trim())
			.filter((l) => l !== ""),
		flowControl,
		queue,
	};
}

/** `Upstash-Forward-X: v` as `X: v`; with `all`, the request's other headers too (less the unsafe ones). */
function forwarded(headers: Headers, all: boolean): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [name, value] of headers) {
		const match = /^upstash-forward-(.+)$/i.exec(name);
		if (match) out[match[1] as string] = value;
		else if (all && !NOT_FORWARDED.test(name) && name.toLowerCase() !== "content-type") out[name] = value;
	}
	const names = Object.keys(out);
	if (names.length > MAX_FORWARDED)
		throw new QstashHeaderError("Upstash-Forward-*", `at most ${MAX_FORWARDED} forwarded headers`);
	for (const name of names) {
		if (!HEADER_VALUE.test(out[name] as string)) {
			throw new QstashHeaderError(`Upstash-Forward-${name}`, "value must be printable ASCII, at most 2048 characters");
		}
	}
	return out;
}

/** The 413 of a body over the limit. */
export function bodyTooLarge(bytes: number, limit: number): AppError {
	return new AppError(413, "body_too_large", `body is ${bytes} bytes; the limit is ${limit}`);
}
