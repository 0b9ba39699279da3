import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, startWorker, type WorkerProcess } from "../test/support/wrangler.ts";
import { stateBase } from "./util.ts";
import { startWorkerd } from "./workerd.ts";

/** What runs Sundial in the bench: plain workerd (default), or the whole `wrangler dev`. */
export type Runtime = "workerd" | "wrangler";

/** Sundial for the bench: its own token, fresh state, a frozen copy of src/. */
export interface SundialBench {
	url: string;
	token: string;
	runtime: Runtime;
	/** The pid of wrangler or workerd (leader of its process group). */
	pid: number;
	api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
	stop(): Promise<void>;
}

const APP_FILES = ["wrangler.toml", "package.json", "tsconfig.json"];

/**
 * Copies wrangler.toml, package.json, tsconfig.json and src/ into `dir` (node_modules linked), so that
 * edits to the working tree during a run do not make `wrangler dev` reload the Worker under test; with
 * `commit`, those files as of that commit instead (`git archive`: no checkout, nothing left in .git).
 */
function snapshotApp(dir: string, commit: string | null): string {
	if (commit === null) {
		for (const f of APP_FILES) cpSync(join(repoRoot, f), join(dir, f));
		cpSync(join(repoRoot, "src"), join(dir, "src"), { recursive: true });
	} else {
		const tar = join(dir, "app.tar");
		execFileSync("git", ["archive", "--output", tar, commit, ...APP_FILES, "src"], { cwd: repoRoot });
		execFileSync("tar", ["-xf", tar, "-C", dir]);
		rmSync(tar);
	}
	symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
	return join(dir, "wrangler.toml");
}

/** State dirs not removed yet: removed on exit too (a 1M-message backlog is big, and /dev/shm is RAM). */
const roots = new Set<string>();
process.on("exit", () => {
	for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/**
 * Starts Sundial (the working tree's, or `commit`'s: bench/baseline.ts) on 127.0.0.1 with SUNDIAL_TOKEN
 * (random), SUNDIAL_ALLOW_HTTP=1 and random QStash signing keys (so /v2 serves); other limits default.
 */
export async function startSundial(runtime: Runtime, commit: string | null = null): Promise<SundialBench> {
	const root = mkdtempSync(join(stateBase(), "sundial-bench-"));
	roots.add(root);
	const token = `bench_${randomBytes(24).toString("hex")}`;
	let worker: WorkerProcess;
	try {
		const appDir = mkdtempSync(join(root, "app-"));
		const config = snapshotApp(appDir, commit);
		const persistDir = mkdtempSync(join(root, "state-"));
		const vars = {
			SUNDIAL_TOKEN: token,
			SUNDIAL_ALLOW_HTTP: "1",
			// /v2 (QStash-compatible) answers 503 without its signing keys; any sig_… strings do (#9 uses /v2).
			SUNDIAL_QSTASH_CURRENT_SIGNING_KEY: `sig_${randomBytes(16).toString("hex")}`,
			SUNDIAL_QSTASH_NEXT_SIGNING_KEY: `sig_${randomBytes(16).toString("hex")}`,
		};
		worker =
			runtime === "workerd"
				? await startWorkerd({ appDir, stateDir: persistDir, vars })
				: await startWorker({ persistDir, config, vars });
	} catch (error) {
		rmSync(root, { recursive: true, force: true });
		roots.delete(root);
		throw error;
	}
	return {
		runtime,
		url: worker.url,
		token,
		pid: worker.pid,
		async api<T>(method: string, path: string, body?: unknown) {
			const res = await fetch(`${worker.url}${path}`, {
				method,
				headers: {
					authorization: `Bearer ${token}`,
					...(body === undefined ? {} : { "content-type": "application/json" }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(60_000),
			});
			const text = await res.text();
			try {
				return { status: res.status, body: (text === "" ? null : JSON.parse(text)) as T };
			} catch {
				throw new Error(`${method} ${path}: ${res.status}, not JSON: ${text.slice(0, 300)}`);
			}
		},
		async stop() {
			await worker.stop();
			rmSync(root, { recursive: true, force: true });
			roots.delete(root);
		},
	};
}

/**
 * Creates `topic` with `partitions` partitions (1 = the body names none, as before partitions existed)
 * and one subscription `sub` (a webhook to `url`, or pull when url is null).
 */
export async function createTopic(
	s: SundialBench,
	topic: string,
	sub: string,
	url: string | null,
	partitions = 1,
): Promise<void> {
	const t = await s.api("PUT", `/v1/topics/${topic}`, partitions === 1 ? {} : { partitions });
	if (t.status !== 201 && t.status !== 200)
		throw new Error(`PUT topic ${topic}: ${t.status} ${JSON.stringify(t.body)}`);
	if (partitions !== 1) {
		const got = await s.api<{ partitions?: number }>("GET", `/v1/topics/${topic}`);
		if (got.body.partitions !== partitions)
			throw new Error(`topic ${topic}: asked for ${partitions} partitions, got ${JSON.stringify(got.body.partitions)}`);
	}
	const config = url === null ? { type: "pull" } : { type: "webhook", url, timeout: "10s" };
	const r = await s.api("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, config);
	if (r.status !== 201) throw new Error(`PUT subscription ${sub}: ${r.status} ${JSON.stringify(r.body)}`);
}

/**
 * Whether this Sundial takes `{"partitions": P}` on PUT /v1/topics (issue 10): a topic with 2 is
 * created (then deleted); a 400 means the field is unknown to this build, and only P = 1 can run.
 */
export async function partitionsSupported(s: SundialBench): Promise<boolean> {
	const topic = "bench-partitions-probe";
	const t = await s.api("PUT", `/v1/topics/${topic}`, { partitions: 2 });
	if (t.status === 400) return false;
	if (t.status !== 201 && t.status !== 200)
		throw new Error(`PUT topic ${topic}: ${t.status} ${JSON.stringify(t.body)}`);
	await s.api("DELETE", `/v1/topics/${topic}`);
	return true;
}

/** Publishes one batch (≤ 1000 items); throws unless every item was scheduled. */
export async function publishBatch(s: SundialBench, topic: string, items: readonly unknown[]): Promise<void> {
	const res = await s.api<{ results: { error?: unknown; duplicate?: boolean }[] }>(
		"POST",
		`/v1/topics/${topic}/messages/batch`,
		items,
	);
	if (res.status !== 200) throw new Error(`batch publish: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
	const bad = res.body.results.filter((r) => r.error !== undefined || r.duplicate === true);
	if (bad.length > 0 || res.body.results.length !== items.length) {
		throw new Error(`batch publish: ${bad.length} item(s) not scheduled, e.g. ${JSON.stringify(bad[0])}`);
	}
}

/**
 * Deliveries Sundial still holds as scheduled or in flight on `topic`: messages that did not arrive
 * within a run's window but are late, not lost.
 */
export async function stillPending(s: SundialBench, topic: string): Promise<number> {
	const res = await s.api<{ counts: { scheduled: number; in_flight: number } }>("GET", `/v1/topics/${topic}`);
	if (res.status !== 200) throw new Error(`GET topic ${topic}: ${res.status}`);
	return res.body.counts.scheduled + res.body.counts.in_flight;
}

/** Publishes one message; throws unless it was scheduled (201). */
export async function publishOne(s: SundialBench, topic: string, item: unknown): Promise<void> {
	const res = await s.api("POST", `/v1/topics/${topic}/messages`, item);
	if (res.status !== 201) throw new Error(`publish: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
}

/** The pids of `workerd` processes in wrangler's process group. */
export function workerdPids(pgid: number): number[] {
	const out: number[] = [];
	for (const d of readdirSync("/proc")) {
		if (!/^\d+$/.test(d)) continue;
		try {
			const stat = readFileSync(`/proc/${d}/stat`, "utf8");
			const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
			const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
			if (pgrp === pgid && comm === "workerd") out.push(Number(d));
		} catch {
			// gone meanwhile
		}
	}
	return out;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU time (user + system, ms) used so far by the `workerd` processes in the process group `pgid`
 * (under `wrangler dev` its proxy's workerd too), at /proc's resolution of 10 ms; null off Linux.
 */
export function workerdCpuMs(pgid: number): number | null {
	let total = 0;
	let seen = 0;
	for (const pid of workerdPids(pgid)) {
		try {
			const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
			const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			// After the name: state is field 3 of stat(5), utime 14 and stime 15.
			total += Number(fields[11]) + Number(fields[12]);
			seen++;
		} catch {
			// gone meanwhile
		}
	}
	return seen === 0 ? null : (total * 1000) / USER_HZ;
}

/** Resident memory of a process in bytes: VmRSS and its anonymous / file-backed / shared parts. */
export interface Rss {
	rss: number;
	anon: number;
	file: number;
	shmem: number;
}

export function rssOf(pid: number): Rss | null {
	try {
		const status = readFileSync(`/proc/${pid}/status`, "utf8");
		const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
		return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), shmem: kb("RssShmem") };
	} catch {
		return null;
	}
}

/**
 * Memory of the workerd running the Worker and its Durable Objects. `wrangler dev` runs two: one with
 * its proxy worker in front (the port we call) and one with the user Worker, started with an inspector
 * (`--inspector-addr`); that one is picked, else the larger.
 */
export function workerdRss(pgid: number): Rss | null {
	const pids = workerdPids(pgid);
	const isUser = (pid: number) => {
		try {
			return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--inspector-addr");
		} catch {
			return false;
		}
	};
	const user = pids.find(isUser);
	if (user !== undefined) return rssOf(user);
	let best: Rss | null = null;
	for (const pid of pids) {
		const m = rssOf(pid);
		if (m && (!best || m.rss > best.rss)) best = m;
	}
	return best;
}
