import { exports } from "cloudflare:workers";
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { expect } from "vitest";
import { api, json } from "./helpers";

/** Shared helpers of the metrics tests (issue 15): waiting for deliveries, scraping and parsing `/metrics`. */

/** Polls `read` every 50 ms until `done` holds (or fails after `timeoutMs`). */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let value = await read();
	while (!done(value)) {
		if (Date.now() > deadline) throw new Error(`timed out waiting; last value ${JSON.stringify(value)}`);
		await new Promise((r) => setTimeout(r, 50));
		value = await read();
	}
	return value;
}

type Counts = { scheduled: number; in_flight: number; delivered: number; dead: number };

/** Waits until a subscription has no scheduled or in-flight delivery left; returns its counts. */
export function settled(topic: string, subscription: string): Promise<Counts> {
	return waitFor(
		async () =>
			(await json<{ counts: Counts }>("GET", `/v1/topics/${topic}/subscriptions/${subscription}`)).body.counts,
		(c) => c.scheduled === 0 && c.in_flight === 0,
	);
}

/** A scrape parsed by parse-prometheus-text-format, with a way to read one sample's value. */
export interface Scrape {
	text: string;
	contentType: string | null;
	/** Every family as the parser typed it (HELP, TYPE, samples). */
	families: ParsedFamily[];
	/** The value of the sample named `name` whose labels include `labels`; undefined when none. */
	value(name: string, labels?: Record<string, string>): number | undefined;
}

/**
 * Scrapes `/metrics` with `token` (the admin token when null) and parses it. The parser folds every
 * series of a labelled histogram into one and drops their `_sum` and `_count` (its issue #13), so
 * samples are read from a second parse of the same text without its `#` lines, where each sample
 * stands on its own; the first parse still checks the whole text and its types.
 */
export async function scrape(token: string | null = null, accept?: string): Promise<Scrape> {
	const headers: Record<string, string> = accept ? { accept } : {};
	const res = token ? await fetchAs(token, "/metrics", headers) : await api("GET", "/metrics", undefined, headers);
	expect(res.status).toBe(200);
	// Read as bytes: workerd warns when .text() reads a type it does not know as text (OpenMetrics).
	const text = new TextDecoder().decode(await res.arrayBuffer());
	const families = parsePrometheusTextFormat(text);
	const bare = text
		.split("\n")
		.filter((line) => !line.startsWith("#"))
		.join("\n");
	const samples = parsePrometheusTextFormat(bare);
	return {
		text,
		contentType: res.headers.get("content-type"),
		families,
		value(name, labels = {}) {
			for (const f of samples) {
				if (f.name !== name) continue;
				const hit = f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
				if (hit?.value !== undefined) return Number(hit.value);
			}
			return undefined;
		},
	};
}

/** A GET with `token` as the bearer. */
function fetchAs(token: string, path: string, headers: Record<string, string>): Promise<Response> {
	return exports.default.fetch(
		new Request(`http://sundial.test${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } }),
	);
}

/** Creates a scoped token; returns the token. */
export async function scopedToken(scopes: string[], topics: string[]): Promise<string> {
	const res = await json<{ token: string }>("POST", "/v1/tokens", { name: `metrics-${Date.now()}`, scopes, topics });
	if (res.status !== 201) throw new Error(`token not created: ${JSON.stringify(res.body)}`);
	return res.body.token;
}
