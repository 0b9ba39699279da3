import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type ChildMessage, onRequest, tell } from "./children.ts";

/**
 * The webhook receiver, in its own process (started by bench/run.ts): answers every POST 200, at once
 * or `delayMs` after the body arrived (set per path at its reset: a slow receiver), and records, per
 * path, each request's `webhook-id` (a /v1 delivery) or `Upstash-Message-Id` (a /v2 one) and its
 * arrival time (Date.now() when the request headers arrived;
 * the senders run on this machine, so clocks agree). Also counts the requests open at once (the push
 * concurrency a sender really used; with an instant answer it rarely sees two).
 *
 * A path may also fail a share of requests at random (`failRate`, answered 500, recorded as not ok:
 * a flaky receiver), from a seeded generator so runs compare.
 *
 * IPC: {type:"reset", path, delayMs?, failRate?} → {type:"reset"}; {type:"count", path} → {type:"count", n};
 * {type:"collect", path} → {type:"records", ids, at, maxConcurrent, connections} (TCP connections
 * opened since the path's reset, any path). Sends {type:"ready", url} at start.
 */

interface Log {
	ids: string[];
	at: number[];
	active: number;
	maxConcurrent: number;
	/** The receiver's connection count when this log started. */
	connectionsAtStart: number;
	/** How long the receiver waits before answering on this path. */
	delayMs: number;
	/** Share of requests answered 500 (0: none). */
	failRate: number;
	/** Per request: answered 2xx. */
	ok: boolean[];
}

/** A seeded generator (mulberry32): the failures of a run are the same every run. */
let seed = 0x5eed;
const random = () => {
	seed = (seed + 0x6d2b79f5) >>> 0;
	let t = seed;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

let connections = 0;

const logs = new Map<string, Log>();
const logOf = (path: string, delayMs = 0, failRate = 0): Log => {
	let log = logs.get(path);
	if (!log) {
		log = { ids: [], at: [], active: 0, maxConcurrent: 0, connectionsAtStart: connections, delayMs, failRate, ok: [] };
		logs.set(path, log);
	}
	return log;
};

const server = createServer((req, res) => {
	const at = Date.now();
	const log = logOf((req.url ?? "/").split("?")[0] ?? "/");
	log.ids.push(String(req.headers["webhook-id"] ?? req.headers["upstash-message-id"] ?? ""));
	log.at.push(at);
	log.active++;
	log.maxConcurrent = Math.max(log.maxConcurrent, log.active);
	let open = true;
	const done = () => {
		if (open) log.active--;
		open = false;
	};
	res.once("finish", done);
	res.once("close", done);
	req.resume();
	const fail = log.failRate > 0 && random() < log.failRate;
	log.ok.push(!fail);
	const answer = () => {
		res.writeHead(fail ? 500 : 200, { "content-type": "text/plain" });
		res.end(fail ? "failed" : "ok");
	};
	req.once("end", () => {
		if (log.delayMs > 0) setTimeout(answer, log.delayMs);
		else answer();
	});
});
server.keepAliveTimeout = 30_000;
server.on("connection", () => {
	connections++;
});

onRequest((msg: ChildMessage) => {
	const path = String(msg.path ?? "");
	if (msg.type === "reset") {
		logs.delete(path);
		logOf(path, Number(msg.delayMs ?? 0), Number(msg.failRate ?? 0));
		tell({ type: "reset" });
	} else if (msg.type === "count") {
		tell({ type: "count", n: logs.get(path)?.ids.length ?? 0 });
	} else if (msg.type === "collect") {
		const log = logOf(path);
		const opened = connections - log.connectionsAtStart;
		tell({
			type: "records",
			ids: log.ids,
			at: log.at,
			ok: log.ok,
			maxConcurrent: log.maxConcurrent,
			connections: opened,
		});
	}
});

server.listen(0, "127.0.0.1", () => {
	const { port } = server.address() as AddressInfo;
	tell({ type: "ready", url: `http://127.0.0.1:${port}` });
});
