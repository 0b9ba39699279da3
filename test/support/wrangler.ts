import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// Variables and `.dev.vars` (checked empirically with wrangler 4.164.0 and a throwaway
// worker; it matches getVarsForDev() in wrangler-dist/cli.js):
// - `--var K:V` overrides a `.dev.vars` value of the same key, but every other key of the
//   developer's `.dev.vars` (e.g. SUNDIAL_TOKEN) still reaches the Worker.
// - `--env-file F` makes wrangler skip `.dev.vars` entirely (even when F is empty); F's
//   values override `[vars]` of wrangler.toml.
// So each worker gets a temporary env file holding exactly `opts.vars`, and tests never
// depend on the developer's `.dev.vars`. (`--var` splits on the first ":", so values may
// contain ":"; the env file is dotenv, so values are single-quoted here.)

/** The repository root (the directory holding wrangler.toml). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const startTimeoutMs = 60_000;
const stopGraceMs = 5_000;
const logLines = 200;

/** Options of startWorker. */
export interface WorkerOptions {
	persistDir: string;
	vars?: Record<string, string>;
	port?: number;
	/** Wrangler config file; defaults to the repo's wrangler.toml. */
	config?: string;
}

/** A `wrangler dev` process serving the Worker. */
export interface WorkerProcess {
	url: string;
	port: number;
	pid: number;
	/** The last ~200 lines of stdout and stderr. */
	logs(): string;
	/** SIGTERM to the process group, SIGKILL after 5 s; resolves when all of it exited. */
	stop(): Promise<void>;
	/** SIGKILL to the whole process group at once (a crash); resolves when it exited. */
	kill(): Promise<void>;
}

/** Workers not yet stopped, with the temp dir of each one's env file. */
const running = new Map<WorkerProcess, string>();
const killRunning = () => {
	for (const [w, envDir] of running) {
		signalGroup(w.pid, "SIGKILL");
		fs.rmSync(envDir, { recursive: true, force: true });
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

/** Stops every worker started by this module (call it in afterAll). */
export async function stopAll(): Promise<void> {
	await Promise.all([...running.keys()].map((w) => w.stop()));
}

/** Starts `wrangler dev` on the repo's wrangler.toml; resolves once /health answers 200. */
export async function startWorker(opts: WorkerOptions): Promise<WorkerProcess> {
	const port = opts.port ?? (await freePort());
	const inspectorPort = await freePort();
	const envDir = fs.mkdtempSync(join(tmpdir(), "sundial-env-"));
	const envFile = join(envDir, "test.env");
	fs.writeFileSync(envFile, toEnvFile(opts.vars ?? {}));
	const bin = join(repoRoot, "node_modules", ".bin");
	const args = [
		"dev",
		...["--config", resolve(repoRoot, opts.config ?? "wrangler.toml")],
		...["--ip", "127.0.0.1"],
		...["--port", String(port), "--inspector-port", String(inspectorPort)],
		...["--persist-to", resolve(opts.persistDir), "--env-file", envFile],
		...["--show-interactive-dev-session=false", "--log-level", "info"],
	];
	const env: NodeJS.ProcessEnv = {
		...process.env,
		CI: "1",
		WRANGLER_SEND_METRICS: "false",
		NO_COLOR: "1",
		FORCE_COLOR: "0",
		CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true",
		PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
	};
	delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
	const child = spawn(join(bin, "wrangler"), args, {
		cwd: repoRoot,
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
		env,
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
	if (pid === undefined) throw new Error(`could not spawn ${bin}/wrangler`);

	let ended: Promise<void> | undefined;
	const terminate = (signal: NodeJS.Signals) => {
		ended ??= (async () => {
			signalGroup(pid, signal);
			if (!(await groupGone(pid, exited, stopGraceMs))) {
				signalGroup(pid, "SIGKILL");
				await groupGone(pid, exited, stopGraceMs);
			}
			running.delete(worker);
			fs.rmSync(envDir, { recursive: true, force: true });
		})();
		return ended;
	};
	const worker: WorkerProcess = {
		url: `http://127.0.0.1:${port}`,
		port,
		pid,
		logs: () => lines.join("\n"),
		stop: () => terminate("SIGTERM"),
		kill: () => terminate("SIGKILL"),
	};
	running.set(worker, envDir);

	const deadline = Date.now() + startTimeoutMs;
	for (;;) {
		if (exitCode !== undefined) {
			await worker.stop();
			throw new Error(`wrangler dev exited (${exitCode}) before /health was ready:\n${worker.logs()}`);
		}
		if (Date.now() > deadline) {
			await worker.stop();
			throw new Error(`wrangler dev: /health not 200 within ${startTimeoutMs} ms:\n${worker.logs()}`);
		}
		try {
			const res = await fetch(`${worker.url}/health`, {
				signal: AbortSignal.timeout(2_000),
			});
			await res.arrayBuffer();
			if (res.status === 200) return worker;
		} catch {
			// not listening yet
		}
		await sleep(100);
	}
}

function toEnvFile(vars: Record<string, string>): string {
	let out = "# written by test/support/wrangler.ts\n";
	for (const [key, value] of Object.entries(vars)) {
		if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`bad var name ${key}`);
		if (/['\r\n]/.test(value)) throw new Error(`var ${key}: value may not contain ' or newlines`);
		out += `${key}='${value}'\n`;
	}
	return out;
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
