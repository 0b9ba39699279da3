import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import type { ReceivedRequest } from "../support/receiver.js";
import { repoRoot, startWorker, type WorkerProcess } from "../support/wrangler.js";

/** A JSON answer of the API. */
export interface ApiResponse<T = Record<string, unknown>> {
	status: number;
	body: T;
}

/** One published item as the batch route answers it. */
export interface PublishResult {
	id: string;
	deliver_at: string;
	duplicate?: boolean;
	error?: { code: string; message: string };
}

/** A Sundial Worker under `wrangler dev` with its own token and persist dir (one per test file). */
export interface Sundial {
	worker: WorkerProcess;
	/** When the current worker process was started (Date.now()). */
	startedAtMs: number;
	token: string;
	/** The `/v2` signing keys this worker was started with. */
	qstashKeys: { current: string; next: string };
	persistDir: string;
	/** Calls `/v1…` with the bearer token; the body is parsed as JSON. */
	api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
	/** Starts `wrangler dev` again on the same persist dir (after kill() or stop()); updates `worker`. */
	restart(): Promise<WorkerProcess>;
	/** Removes the persist dir (call after stopAll()). */
	removeState(): void;
}

/**
 * Where persist dirs go: $SUNDIAL_E2E_TMPDIR, else /dev/shm when it is a writable directory, else the OS
 * temp dir. tmpfs because on a busy 2-core machine with the state on disk, local storage writes stalled
 * delivery for 100–800 ms now and then (p99 lateness up to ~600 ms), never on tmpfs (p99 ≤ ~25 ms).
 */
export function stateBaseDir(): string {
	const wanted = process.env.SUNDIAL_E2E_TMPDIR;
	if (wanted) return wanted;
	try {
		if (statSync("/dev/shm").isDirectory()) {
			accessSync("/dev/shm", constants.W_OK);
			return "/dev/shm";
		}
	} catch {
		// no tmpfs here
	}
	return tmpdir();
}

/**
 * The wrangler config to run: $SUNDIAL_E2E_CONFIG when set (e.g. a copy of the repo, so that edits in
 * the working tree during a run do not reload the Worker under test), else the repo's wrangler.toml.
 */
export function configPath(): string | undefined {
	const wanted = process.env.SUNDIAL_E2E_CONFIG;
	return wanted ? resolve(wanted) : undefined;
}

/**
 * Files under src/ modified after `sinceMs`. `wrangler dev` rebuilds and reloads the Worker when one
 * changes (wrangler does not say so in the output the tests capture), and a reload resets every Durable Object mid-delivery: a
 * test that fails while src/ was being edited says so.
 */
export function srcChangedSince(sinceMs: number): string[] {
	const out: string[] = [];
	const walk = (dir: string) => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (statSync(path).mtimeMs > sinceMs) out.push(relative(repoRoot, path));
		}
	};
	walk(join(dirname(configPath() ?? join(repoRoot, "wrangler.toml")), "src"));
	return out;
}

/** Starts Sundial with a random token, SUNDIAL_ALLOW_HTTP=1 and a fresh temp persist dir. */
export async function startSundial(): Promise<Sundial> {
	const persistDir = mkdtempSync(join(stateBaseDir(), "sundial-e2e-"));
	const token = `e2e_${randomBytes(24).toString("hex")}`;
	const qstashKeys = {
		current: `sig_${randomBytes(14).toString("hex")}`,
		next: `sig_${randomBytes(14).toString("hex")}`,
	};
	const vars = {
		SUNDIAL_TOKEN: token,
		SUNDIAL_ALLOW_HTTP: "1",
		SUNDIAL_QSTASH_CURRENT_SIGNING_KEY: qstashKeys.current,
		SUNDIAL_QSTASH_NEXT_SIGNING_KEY: qstashKeys.next,
		// Every JSON answer checked against its documented schema (src/http/endpoint.ts).
		SUNDIAL_CHECK_RESPONSES: "1",
	};
	const start = () => startWorker({ persistDir, vars, config: configPath() });
	let worker: WorkerProcess;
	const startedAtMs = Date.now();
	try {
		worker = await start();
	} catch (error) {
		rmSync(persistDir, { recursive: true, force: true });
		throw error;
	}
	const sundial: Sundial = {
		worker,
		startedAtMs,
		token,
		qstashKeys,
		persistDir,
		async api<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
			const res = await fetch(`${sundial.worker.url}${path}`, {
				method,
				headers: {
					authorization: `Bearer ${token}`,
					...(body === undefined ? {} : { "content-type": "application/json" }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(30_000),
			});
			const text = await res.text();
			let parsed: unknown = null;
			try {
				parsed = text === "" ? null : JSON.parse(text);
			} catch {
				throw new Error(`${method} ${path}: ${res.status}, not JSON: ${text.slice(0, 500)}`);
			}
			return { status: res.status, body: parsed as T };
		},
		async restart() {
			sundial.startedAtMs = Date.now();
			sundial.worker = await start();
			return sundial.worker;
		},
		removeState() {
			rmSync(persistDir, { recursive: true, force: true });
		},
	};
	return sundial;
}

/** Creates a topic and a webhook subscription to `url`; returns the subscription's `whsec_` secret. */
export async function createWebhookTopic(
	sundial: Sundial,
	topic: string,
	subscription: string,
	url: string,
	extra: Record<string, unknown> = {},
): Promise<string> {
	const t = await sundial.api("PUT", `/v1/topics/${topic}`, {});
	if (t.status !== 201 && t.status !== 200) throw new Error(`PUT topic: ${t.status} ${JSON.stringify(t.body)}`);
	return addWebhook(sundial, topic, subscription, url, extra);
}

/** Adds a webhook subscription to an existing topic; returns its secret. */
export async function addWebhook(
	sundial: Sundial,
	topic: string,
	subscription: string,
	url: string,
	extra: Record<string, unknown> = {},
): Promise<string> {
	const s = await sundial.api<{ secret: string | null }>("PUT", `/v1/topics/${topic}/subscriptions/${subscription}`, {
		type: "webhook",
		url,
		...extra,
	});
	if (s.status !== 201 || typeof s.body.secret !== "string") {
		throw new Error(`PUT subscription: ${s.status} ${JSON.stringify(s.body)}`);
	}
	return s.body.secret;
}

/** Publishes a batch; throws unless every item was scheduled (not an error, not a duplicate). */
export async function publishBatch(sundial: Sundial, topic: string, items: unknown[]): Promise<PublishResult[]> {
	const res = await sundial.api<{ results: PublishResult[] }>("POST", `/v1/topics/${topic}/messages/batch`, items);
	if (res.status !== 200) throw new Error(`batch publish: ${res.status} ${JSON.stringify(res.body)}`);
	const bad = res.body.results.filter((r) => r.error !== undefined || r.duplicate === true);
	if (bad.length > 0 || res.body.results.length !== items.length) {
		throw new Error(`batch publish: ${bad.length} item(s) not scheduled, e.g. ${JSON.stringify(bad[0])}`);
	}
	return res.body.results;
}

/** Formats unix ms as RFC 3339 with milliseconds in a fixed offset of `offsetMinutes` (e.g. 120 → "+02:00"). */
export function rfc3339WithOffset(ms: number, offsetMinutes: number): string {
	const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, -1); // drop "Z"
	const sign = offsetMinutes < 0 ? "-" : "+";
	const abs = Math.abs(offsetMinutes);
	const hh = String(Math.floor(abs / 60)).padStart(2, "0");
	const mm = String(abs % 60).padStart(2, "0");
	return `${local}${sign}${hh}:${mm}`;
}

/** Groups received requests by their `webhook-id` header. */
export function byWebhookId(received: readonly ReceivedRequest[]): Map<string, ReceivedRequest[]> {
	const out = new Map<string, ReceivedRequest[]>();
	for (const r of received) {
		const id = r.headers["webhook-id"];
		if (id === undefined) continue;
		const list = out.get(id);
		if (list) list.push(r);
		else out.set(id, [r]);
	}
	return out;
}

/** The q-quantile (0..1) of numbers, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
	return sorted[rank] as number;
}

/** Polls `fn` until it returns a truthy value, or throws after `timeoutMs` with `what`. */
export async function pollUntil<T>(
	fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
	timeoutMs: number,
	what: string,
	everyMs = 50,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		last = await fn();
		if (last) return last as T;
		if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
		await sleep(everyMs);
	}
}

export function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}

/** For a failure message: which of `ids` the receiver has not seen on `path`, with the server's view of a few. */
export async function describeMissing(
	sundial: Sundial,
	topic: string,
	ids: readonly string[],
	receiver: { received: readonly ReceivedRequest[] },
	path: string,
): Promise<string> {
	const seen = byWebhookId(receiver.received.filter((r) => r.path === path));
	const missing = ids.filter((id) => !seen.has(id));
	const lines = [`${missing.length} of ${ids.length} not received; server state of the first few:`];
	for (const id of missing.slice(0, 5)) {
		const res = await sundial.api("GET", `/v1/topics/${topic}/messages/${id}`).catch((e: unknown) => ({
			status: 0,
			body: String(e),
		}));
		lines.push(`  ${id}: ${res.status} ${JSON.stringify(res.body)}`);
	}
	const sub = await sundial.api("GET", `/v1/topics/${topic}/subscriptions`).catch(() => null);
	if (sub) lines.push(`  subscriptions: ${JSON.stringify(sub.body)}`);
	const last = receiver.received.filter((r) => r.path === path).at(-1);
	if (last) lines.push(`  last received on ${path}: ${new Date(last.receivedAtMs).toISOString()}`);
	lines.push(`  now: ${new Date().toISOString()}`);
	const changed = srcChangedSince(sundial.startedAtMs);
	if (changed.length > 0) {
		lines.push(`  NOTE: src/ changed during the run (wrangler dev reloads and resets objects): ${changed.join(", ")}`);
	}
	lines.push(`  wrangler log (tail):\n${sundial.worker.logs().split("\n").slice(-40).join("\n")}`);
	return lines.join("\n");
}
