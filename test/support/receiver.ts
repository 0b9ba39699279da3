import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request recorded by the receiver (control routes are never recorded). */
export interface ReceivedRequest {
	path: string;
	/** Path plus query string, as sent. */
	url: string;
	method: string;
	headers: Record<string, string>;
	body: string;
	receivedAtMs: number;
	/** Requests open when this one arrived, counting itself. */
	activeAtArrival: number;
	/** Its place among the requests of its TCP connection, from 1 (1 = it opened the connection). */
	onConnection: number;
}

/** How the receiver answers one request. */
export interface Reply {
	status: number;
	headers?: Record<string, string>;
	body?: string;
	delayMs?: number;
	/**
	 * A response that never ends: the status and headers at once (after `delayMs`), then one byte of
	 * body every `trickleMs` until the client goes away (slowloris-style).
	 */
	trickleMs?: number;
}

/** A fixed reply, or a function computing one from the recorded request. */
export type Behaviour = Reply | ((req: ReceivedRequest) => Reply | Promise<Reply>);

/** Options of startReceiver. */
export interface ReceiverOptions {
	host?: string;
	port?: number;
	defaultReply?: Reply;
}

/** A running HTTP receiver standing in for a webhook consumer. */
export interface Receiver {
	url: string;
	received: ReceivedRequest[];
	readonly maxConcurrent: number;
	readonly active: number;
	behaviour(path: string, fn: Behaviour): void;
	waitFor(predicate: (received: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
	/** Forgets recorded requests and the peak; `behaviours: true` also drops behaviours. */
	clear(opts?: { behaviours?: boolean }): void;
	close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 at a free port (or opts.port). */
export async function startReceiver(opts: ReceiverOptions = {}): Promise<Receiver> {
	const host = opts.host ?? "127.0.0.1";
	const defaultReply = opts.defaultReply ?? { status: 200, body: "ok" };
	const behaviours = new Map<string, Behaviour>();
	let active = 0;
	let maxConcurrent = 0;
	const requestsOn = new WeakMap<object, number>();

	const receiver: Receiver = {
		url: "",
		received: [],
		get maxConcurrent() {
			return maxConcurrent;
		},
		get active() {
			return active;
		},
		behaviour(path, fn) {
			behaviours.set(path, fn);
		},
		waitFor: (predicate, timeoutMs = 10_000) => waitUntil(receiver, predicate, timeoutMs),
		clear(clearOpts) {
			receiver.received.length = 0;
			maxConcurrent = active;
			if (clearOpts?.behaviours) behaviours.clear();
		},
		close: () =>
			new Promise<void>((resolve, reject) => {
				server.close((err) => (err ? reject(err) : resolve()));
				server.closeAllConnections();
			}),
	};

	const handleControl = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
		const path = url.searchParams.get("path");
		const route = `${req.method} ${url.pathname}`;
		if (route === "GET /_control/received") {
			const list = receiver.received.filter((r) => !path || r.path === path);
			return sendJson(res, 200, list);
		}
		if (route === "GET /_control/stats") {
			const count = receiver.received.length;
			return sendJson(res, 200, { count, maxConcurrent, active });
		}
		if (route === "POST /_control/behaviour" && path) {
			const reply = JSON.parse((await readBody(req)) || "{}") as Reply & { sequence?: Reply[] };
			// `sequence`: one reply per request in order, the last one repeated from then on.
			const queue = reply.sequence ?? [reply];
			if (queue.length === 0 || queue.some((r) => typeof r.status !== "number")) {
				return sendJson(res, 400, { error: "status (number) is required" });
			}
			behaviours.set(
				path,
				queue.length === 1 ? (queue[0] as Reply) : () => (queue.length > 1 ? queue.shift() : queue[0]) as Reply,
			);
			return sendJson(res, 200, { ok: true });
		}
		if (route === "POST /_control/clear") {
			receiver.clear({
				behaviours: url.searchParams.get("behaviours") === "1",
			});
			return sendJson(res, 200, { ok: true });
		}
		sendJson(res, 404, { error: `unknown control route ${route}` });
	};

	const handle = async (req: IncomingMessage, res: ServerResponse, receivedAtMs: number): Promise<void> => {
		active++;
		maxConcurrent = Math.max(maxConcurrent, active);
		const activeAtArrival = active;
		let timer: NodeJS.Timeout | undefined;
		let trickle: NodeJS.Timeout | undefined;
		res.once("close", () => {
			active--;
			clearTimeout(timer);
			clearInterval(trickle);
		});
		const body = await readBody(req);
		const url = req.url ?? "/";
		const record: ReceivedRequest = {
			path: url.split("?")[0] ?? "/",
			url,
			method: req.method ?? "GET",
			headers: flattenHeaders(req),
			body,
			receivedAtMs,
			activeAtArrival,
			onConnection: (requestsOn.get(req.socket) ?? 0) + 1,
		};
		requestsOn.set(req.socket, record.onConnection);
		receiver.received.push(record);
		const behaviour = behaviours.get(record.path) ?? defaultReply;
		const reply = typeof behaviour === "function" ? await behaviour(record) : behaviour;
		const respond = () => {
			if (res.destroyed) return;
			res.writeHead(reply.status, reply.headers);
			if (!reply.trickleMs) return void res.end(reply.body ?? "");
			res.flushHeaders();
			trickle = setInterval(() => res.write("."), reply.trickleMs);
		};
		if (reply.delayMs && reply.delayMs > 0) {
			timer = setTimeout(respond, reply.delayMs);
		} else {
			respond();
		}
	};

	const server = createServer((req, res) => {
		const receivedAtMs = Date.now();
		const url = new URL(req.url ?? "/", "http://receiver");
		const work = url.pathname.startsWith("/_control/") ? handleControl(req, res, url) : handle(req, res, receivedAtMs);
		work.catch((err: unknown) => {
			if (!res.headersSent && !res.destroyed) {
				sendJson(res, 500, { error: String(err) });
			} else {
				res.destroy();
			}
		});
	});
	// Node closes an idle keep-alive connection after 5 s by default. A sender that picks that
	// connection from its pool just then sees it reset and retries later: a real receiver's race,
	// but one that makes "delivered in one alarm run" tests flaky. Here the sender closes first.
	server.keepAliveTimeout = 120_000;
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(opts.port ?? 0, host, () => resolve());
	});
	const { port } = server.address() as AddressInfo;
	receiver.url = `http://${host}:${port}`;
	return receiver;
}

async function waitUntil(
	receiver: Receiver,
	predicate: (received: ReceivedRequest[]) => boolean,
	timeoutMs: number,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (predicate(receiver.received)) return;
		if (Date.now() >= deadline) {
			const seen = receiver.received.map((r) => `${r.method} ${r.url}`).slice(-20);
			throw new Error(
				`receiver.waitFor: condition not met within ${timeoutMs} ms; ` +
					`${receiver.received.length} request(s) received` +
					(seen.length ? ` (last: ${seen.join(", ")})` : ""),
			);
		}
		await new Promise((r) => setTimeout(r, 10));
	}
}

function readBody(req: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
		req.on("error", reject);
		req.on("close", () => {
			if (!req.complete) reject(new Error("request aborted by the client"));
		});
	});
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [name, value] of Object.entries(req.headers)) {
		if (value === undefined) continue;
		out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
	}
	return out;
}

function sendJson(res: ServerResponse, status: number, data: unknown): void {
	res.writeHead(status, { "content-type": "application/json" });
	res.end(JSON.stringify(data));
}
