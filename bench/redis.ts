import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../test/support/wrangler.ts";
import { RespClient } from "./resp.ts";
import { sleep, stateBase } from "./util.ts";

/** A redis-server started by the bench on 127.0.0.1. */
export interface RedisServer {
	port: number;
	pid: number;
	/** The `hz` it runs with (Redis' timer frequency; BullMQ's delayed jobs wait on it). */
	hz: number;
	/** A command on a fresh connection (for INFO, FLUSHALL, …). */
	command(cmd: string, ...args: string[]): Promise<unknown>;
	stop(): Promise<void>;
}

const REDIS_BIN = "redis-server";

/** Servers not stopped yet: killed (and their dirs removed) if the bench exits early. */
const live = new Map<ChildProcess, string>();
process.on("exit", () => {
	for (const [child, dir] of live) {
		child.kill("SIGKILL");
		rmSync(dir, { recursive: true, force: true });
	}
});

/** `redis-server --version`, or null when it is not installed. */
export function redisVersion(): string | null {
	try {
		const out = execFileSync(REDIS_BIN, ["--version"], { encoding: "utf8", timeout: 10_000 });
		return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
	} catch {
		return null;
	}
}

/** Starts redis-server without persistence; `hz` null keeps the default (10). */
export async function startRedis(hz: number | null): Promise<RedisServer> {
	const port = await freePort();
	const dir = mkdtempSync(join(stateBase(), "sundial-bench-redis-"));
	const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
	if (hz !== null) args.push("--hz", String(hz));
	const child: ChildProcess = spawn(REDIS_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
	let log = "";
	child.stdout?.on("data", (c: Buffer) => {
		log = (log + c.toString()).slice(-4000);
	});
	child.stderr?.on("data", (c: Buffer) => {
		log = (log + c.toString()).slice(-4000);
	});
	live.set(child, dir);
	let exited = false;
	child.once("exit", () => {
		exited = true;
	});
	const pid = child.pid;
	if (pid === undefined) throw new Error("could not spawn redis-server");

	const command = async (cmd: string, ...rest: string[]) => {
		const c = new RespClient("127.0.0.1", port);
		await c.connect();
		try {
			return await c.send(cmd, rest);
		} finally {
			c.close();
		}
	};
	const stop = async () => {
		if (!exited) {
			child.kill("SIGTERM");
			const deadline = Date.now() + 5_000;
			while (!exited && Date.now() < deadline) await sleep(20);
			if (!exited) child.kill("SIGKILL");
			while (!exited && Date.now() < deadline + 5_000) await sleep(20);
		}
		rmSync(dir, { recursive: true, force: true });
		live.delete(child);
	};

	const deadline = Date.now() + 10_000;
	for (;;) {
		if (exited) {
			await stop();
			throw new Error(`redis-server exited at start:\n${log}`);
		}
		try {
			if ((await command("PING")) === "PONG") break;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`redis-server did not answer PING within 10 s:\n${log}`);
		}
		await sleep(50);
	}
	const actualHz = Number(((await command("CONFIG", "GET", "hz")) as string[])[1]);
	return { port, pid, hz: actualHz, command, stop };
}

/** `used_memory_rss` from INFO memory, in bytes. */
export async function redisRss(redis: RedisServer): Promise<number> {
	const info = String(await redis.command("INFO", "memory"));
	return Number(/used_memory_rss:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}
