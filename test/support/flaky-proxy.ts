import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** What the proxy does with one request instead of (or after) forwarding it. */
export type Fault =
	/** Answer this status without forwarding (with `retry-after` when given). */
	| { status: number; retryAfter?: string }
	/** Close the connection without an answer, before forwarding. */
	| { reset: "before" }
	/** Forward, let the Worker act on it, then close the connection without passing its answer on. */
	| { reset: "after" }
	/** Wait this long before forwarding. */
	| { delayMs: number }
	/**
	 * A batch publish whose items at these indexes (each with an `id`) never reach the Worker and are
	 * answered `partition_unavailable` under their ids, as when their partition did not answer.
	 */
	| { failBatchItems: number[] };

/** A reverse proxy in front of a Worker that injects faults into the next requests, in order. */
export interface FlakyProxy {
	url: string;
	/** Requests that reached the proxy, as `"METHOD /path"`. */
	seen: string[];
	/** Queues faults for the next requests; requests beyond them pass through. */
	inject(...faults: Fault[]): void;
	close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to `target` (e.g. a `wrangler dev` URL). */
export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
	const faults: Fault[] = [];
	const seen: string[] = [];
	const forward = async (req: IncomingMessage, body: Buffer): Promise<Response> => {
		const headers = new Headers();
		for (const [name, value] of Object.entries(req.headers)) {
			if (typeof value === "string" && name !== "host" && name !== "connection") headers.set(name, value);
		}
		return fetch(`${target}${req.url}`, {
			method: req.method,
			headers,
			body: req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(body),
		});
	};
	const server = createServer(async (req, res) => {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		seen.push(`${req.method} ${req.url?.split("?")[0]}`);
		const fault = faults.shift();
		try {
			if (fault && "status" in fault) {
				res.writeHead(fault.status, {
					"content-type": "application/json",
					...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }),
				});
				res.end(JSON.stringify({ error: { code: "injected", message: `injected ${fault.status}` } }));
				return;
			}
			if (fault && "reset" in fault && fault.reset === "before") {
				req.socket.destroy();
				return;
			}
			if (fault && "delayMs" in fault) await new Promise((r) => setTimeout(r, fault.delayMs));
			if (fault && "failBatchItems" in fault) {
				const answer = await failItems(fault.failBatchItems, Buffer.concat(chunks), (body) => forward(req, body));
				res.writeHead(200, { "content-type": "application/json" });
				res.end(JSON.stringify(answer));
				return;
			}
			const answer = await forward(req, Buffer.concat(chunks));
			const text = await answer.text();
			if (fault && "reset" in fault) {
				req.socket.destroy();
				return;
			}
			res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
			res.end(text);
		} catch {
			req.socket.destroy();
		}
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		seen,
		inject: (...more) => faults.push(...more),
		close: () =>
			new Promise((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

/** Forwards the batch without the items at `indexes`, and answers those as failed partitions would be. */
async function failItems(
	indexes: number[],
	body: Buffer,
	forward: (body: Buffer) => Promise<Response>,
): Promise<{ results: unknown[] }> {
	const items = JSON.parse(body.toString()) as { id: string }[];
	const failed = new Set(indexes);
	const kept = items.filter((_, i) => !failed.has(i));
	const answer = (await (await forward(Buffer.from(JSON.stringify(kept)))).json()) as { results: unknown[] };
	const results: unknown[] = [];
	let next = 0;
	for (const [i, item] of items.entries()) {
		results.push(
			failed.has(i)
				? { id: item.id, error: { code: "partition_unavailable", message: "injected: the partition did not answer" } }
				: answer.results[next++],
		);
	}
	return { results };
}
