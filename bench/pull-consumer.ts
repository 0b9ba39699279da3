import { type ChildMessage, childConfig, onRequest, tell } from "./children.ts";

/**
 * A Sundial pull consumer in its own process (started by bench/run.ts): `pollers` loops, each a long
 * poll (`receive` with {max, wait}) that records the arrival time (Date.now() when the response was
 * read) of every message, acks them without waiting, and polls again at once.
 *
 * IPC: {type:"count"} → {type:"count", n}; {type:"collect"} → {type:"records", ids, at}.
 * Sends {type:"ready"} once the first polls are out. SIGTERM stops it.
 */

interface Config {
	url: string;
	token: string;
	topic: string;
	sub: string;
	pollers: number;
	max: number;
	wait: string;
}

interface Pulled {
	id: string;
	receipt: string;
}

const config = childConfig<Config>();
const base = `${config.url}/v1/topics/${config.topic}/subscriptions/${config.sub}`;
const headers = { authorization: `Bearer ${config.token}`, "content-type": "application/json" };
const ids: string[] = [];
const at: number[] = [];
const acks = new Set<Promise<void>>();
let running = true;
let errors = 0;

async function call(path: string, body: unknown): Promise<unknown> {
	const res = await fetch(`${base}/${path}`, {
		method: "POST",
		headers,
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await res.text();
	if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
	return JSON.parse(text);
}

async function poller(): Promise<void> {
	while (running) {
		let messages: Pulled[];
		try {
			messages = ((await call("receive", { max: config.max, wait: config.wait })) as { messages: Pulled[] }).messages;
		} catch (err) {
			if (!running) return;
			if (++errors > 50) throw err;
			await new Promise((r) => setTimeout(r, 20));
			continue;
		}
		const now = Date.now();
		for (const m of messages) {
			ids.push(m.id);
			at.push(now);
		}
		if (messages.length === 0) continue;
		const ack = call("ack", { receipts: messages.map((m) => m.receipt) }).then(
			() => undefined,
			() => {
				errors++;
			},
		);
		acks.add(ack);
		void ack.finally(() => acks.delete(ack));
	}
}

onRequest((msg: ChildMessage) => {
	if (msg.type === "count") tell({ type: "count", n: ids.length, errors });
	else if (msg.type === "collect") tell({ type: "records", ids, at, errors });
});
process.once("SIGTERM", () => {
	running = false;
	process.exit(0);
});

for (let i = 0; i < config.pollers; i++) {
	poller().catch((err: unknown) => {
		process.stderr.write(`pull consumer: ${String(err)}\n`);
		process.exit(1);
	});
}
tell({ type: "ready" });
