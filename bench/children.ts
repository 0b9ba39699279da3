import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./util.ts";

/** A message between the bench and one of its Node children: always an object with a `type`. */
export interface ChildMessage {
	type: string;
	[key: string]: unknown;
}

/** A Node child process of the bench (receiver, BullMQ worker, pull consumer), spoken to over IPC. */
export interface Child {
	pid: number;
	/** Sends `msg` and resolves with the next message whose type is `replyType`. */
	ask<T extends ChildMessage>(msg: ChildMessage, replyType: string, timeoutMs?: number): Promise<T>;
	/** Resolves with the next message of `type` (or one already received and not yet taken). */
	next<T extends ChildMessage>(type: string, timeoutMs?: number): Promise<T>;
	/** SIGTERM by pid, SIGKILL after 3 s; resolves once it exited. */
	stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const live = new Set<ChildProcess>();
process.on("exit", () => {
	for (const c of live) c.kill("SIGKILL");
});

/** Starts `node bench/<script> <JSON config>` with an IPC channel. */
export function startChild(script: string, config: unknown): Child {
	const proc = spawn(process.execPath, [join(here, script), JSON.stringify(config)], {
		stdio: ["ignore", "inherit", "inherit", "ipc"],
	});
	const pid = proc.pid;
	if (pid === undefined) throw new Error(`could not start ${script}`);
	live.add(proc);
	const inbox: ChildMessage[] = [];
	const waiting: { type: string; resolve: (m: ChildMessage) => void }[] = [];
	let exited: string | null = null;
	proc.on("message", (m: ChildMessage) => {
		const i = waiting.findIndex((w) => w.type === m.type);
		if (i >= 0) waiting.splice(i, 1)[0]?.resolve(m);
		else inbox.push(m);
	});
	proc.once("exit", (code, signal) => {
		exited = signal ?? String(code);
		live.delete(proc);
	});

	const next = <T extends ChildMessage>(type: string, timeoutMs = 30_000): Promise<T> => {
		const i = inbox.findIndex((m) => m.type === type);
		if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as T);
		return new Promise<T>((resolve, reject) => {
			const entry = {
				type,
				resolve: (m: ChildMessage) => {
					clearInterval(watch);
					resolve(m as T);
				},
			};
			const deadline = Date.now() + timeoutMs;
			const watch = setInterval(() => {
				if (exited === null && Date.now() < deadline) return;
				clearInterval(watch);
				const at = waiting.indexOf(entry);
				if (at >= 0) waiting.splice(at, 1);
				const why = exited === null ? `no "${type}" within ${timeoutMs} ms` : `exited (${exited})`;
				reject(new Error(`${script}: ${why}`));
			}, 20);
			waiting.push(entry);
		});
	};

	return {
		pid,
		next,
		ask<T extends ChildMessage>(msg: ChildMessage, replyType: string, timeoutMs?: number) {
			const reply = next<T>(replyType, timeoutMs);
			proc.send(msg);
			return reply;
		},
		async stop() {
			if (exited === null) proc.kill("SIGTERM");
			const deadline = Date.now() + 3_000;
			while (exited === null && Date.now() < deadline) await sleep(20);
			if (exited === null) proc.kill("SIGKILL");
			while (exited === null && Date.now() < deadline + 3_000) await sleep(20);
		},
	};
}

/** In a child: the JSON config it was started with. */
export function childConfig<T>(): T {
	return JSON.parse(process.argv[2] ?? "{}") as T;
}

/** In a child: sends a message to the bench. */
export function tell(msg: ChildMessage): void {
	process.send?.(msg);
}

/** In a child: handles the bench's messages; exits when the IPC channel closes (the bench is gone). */
export function onRequest(handler: (msg: ChildMessage) => void | Promise<void>): void {
	process.on("message", (m: ChildMessage) => {
		Promise.resolve(handler(m)).catch((err: unknown) => {
			process.stderr.write(`${String(err)}\n`);
			process.exit(1);
		});
	});
	process.on("disconnect", () => process.exit(0));
}
