import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";

/**
 * A local server process (wrangler dev, or workerd itself) in its own process group: started,
 * waited for until `GET /health` answers 200, stopped by pid with everything it started.
 */

const startTimeoutMs = 50_000;
const probeTimeoutMs = 2_000;
const stopGraceMs = 5_000;
const logLines = 200;

/** A running server. */
export interface WorkerProcess {
	url: string;
	port: number;
	/** The leader's pid (= its process group id). */
	pid: number;
	/** The last ~200 lines of stdout and stderr. */
	logs(): string;
	/** SIGTERM to the process group, SIGKILL after 5 s; resolves when all of it exited. */
	stop(): Promise<void>;
	/** SIGKILL to the whole process group at once (a crash); resolves when it exited. */
	kill(): Promise<void>;
}

/** What to start. */
export interface ServerSpec {
	/** Shown in errors ("wrangler dev", "workerd"). */
	label: string;
	command: string;
	args: string[];
	cwd: string;
	env: NodeJS.ProcessEnv;
	port: number;
	/** How long to wait for `/health` to answer 200 (default 50 s). */
	readyTimeoutMs?: number;
	/** Runs once the process group is gone (removes temp files). */
	cleanup?: () => void;
}

/** Servers not yet stopped, with their cleanup. */
const running = new Map<WorkerProcess, () => void>();
const killRunning = () => {
	for (const [w, cleanup] of running) {
		signalGroup(w.pid, "SIGKILL");
		cleanup();
	}
};
// Vitest ends its fork workers with SIGTERM (no "exit" event), so also kill on signals,
// then re-raise the signal when nobody else handles it.
process.on("exit", killRunning);
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
	process.once(signal, () => {
		killRunning();
		if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
	});
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
	return new Promise((resolvePort, reject) => {
		const srv = createServer();
		srv.once("error", reject);
		srv.listen(0, "127.0.0.1", () => {
			const addr = srv.address();
			const port = typeof addr === "object" && addr ? addr.port : 0;
			srv.close(() => resolvePort(port));
		});
	});
}

/** Stops every server started by this module (call it in afterAll). */
export async function stopAll(): Promise<void> {
	await Promise.all([...running.keys()].map((w) => w.stop()));
}

/** Starts `spec` and resolves once `/health` answers 200; throws (with its logs) when it does not. */
export async function startServer(spec: ServerSpec): Promise<WorkerProcess> {
	const cleanup = spec.cleanup ?? (() => {});
	const child = spawn(spec.command, spec.args, {
		cwd: spec.cwd,
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
		env: spec.env,
	});
	const lines: string[] = [];
	const capture = (stream: NodeJS.ReadableStream) => {
		let carry = "";
		stream.setEncoding("utf8");
		stream.on("data", (chunk: string) => {
			const parts = (carry + chunk).split("\n");
			carry = parts.pop() ?? "";
			lines.push(...parts);
			if (lines.length > logLines) lines.splice(0, lines.length - logLines);
		});
	};
	capture(child.stdout);
	capture(child.stderr);
	let exitCode: string | undefined;
	child.once("exit", (code, signal) => {
		exitCode = signal ?? String(code);
	});
	const exited = () => exitCode !== undefined;
	const pid = child.pid;
	if (pid === undefined) {
		cleanup();
		throw new Error(`could not spawn ${spec.command}`);
	}

	let ended: Promise<void> | undefined;
	const terminate = (signal: NodeJS.Signals) => {
		ended ??= (async () => {
			signalGroup(pid, signal);
			if (!(await groupGone(pid, exited, stopGraceMs))) {
				signalGroup(pid, "SIGKILL");
				await groupGone(pid, exited, stopGraceMs);
			}
			running.delete(worker);
			cleanup();
		})();
		return ended;
	};
	const worker: WorkerProcess = {
		url: `http://127.0.0.1:${spec.port}`,
		port: spec.port,
		pid,
		logs: () => lines.join("\n"),
		stop: () => terminate("SIGTERM"),
		kill: () => terminate("SIGKILL"),
	};
	running.set(worker, cleanup);

	const readyTimeoutMs = spec.readyTimeoutMs ?? startTimeoutMs;
	const deadline = Date.now() + readyTimeoutMs;
	let lastProbe = "not probed yet";
	for (;;) {
		if (exitCode !== undefined) {
			await worker.stop();
			throw new Error(`${spec.label} exited (${exitCode}) before /health was ready:\n${worker.logs()}`);
		}
		if (Date.now() > deadline) {
			await worker.stop();
			throw new Error(
				`${spec.label}: /health not 200 within ${readyTimeoutMs} ms (last probe: ${lastProbe}):\n${worker.logs()}`,
			);
		}
		lastProbe = await probe(`${worker.url}/health`);
		if (lastProbe === "200") return worker;
		await sleep(100);
	}
}

/**
 * One `GET url`: its status ("200"), or why there was none. Plain node:http on a fresh connection
 * with a timer of its own, so that no probe outlives `probeTimeoutMs`, whatever the socket does
 * (a start in CI once outlived every deadline here, while probing with fetch).
 */
function probe(url: string): Promise<string> {
	return new Promise((settle) => {
		let done = false;
		const finish = (outcome: string) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			req.destroy();
			settle(outcome);
		};
		const timer = setTimeout(() => finish(`no answer within ${probeTimeoutMs} ms`), probeTimeoutMs);
		const req = request(url, { agent: false }, (res) => {
			res.resume();
			res.once("end", () => finish(String(res.statusCode)));
			res.once("error", (e) => finish(e.message));
		});
		req.once("error", (e) => finish((e as NodeJS.ErrnoException).code ?? e.message));
		req.end();
	});
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		// the group is already gone
	}
}

/** Waits until the leader exited and no live (non-zombie) process is left in the group. */
async function groupGone(pgid: number, exited: () => boolean, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (!exited() || groupAlive(pgid)) {
		if (Date.now() > deadline) return false;
		await sleep(20);
	}
	return true;
}

function groupAlive(pgid: number): boolean {
	let pids: string[];
	try {
		pids = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d));
	} catch {
		try {
			process.kill(-pgid, 0);
			return true;
		} catch {
			return false;
		}
	}
	for (const p of pids) {
		try {
			const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
			const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			if (Number(pgrp) === pgid && state !== "Z") return true;
		} catch {
			// the process ended while we looked
		}
	}
	return false;
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}
