import { type Job, Worker } from "bullmq";
import { redisAt, useRespClient } from "./bullmq-connection.ts";
import { type ChildMessage, childConfig, onRequest, tell } from "./children.ts";

/**
 * A BullMQ Worker in its own process (started by bench/run.ts). Its processor records, per job, when
 * it started (Date.now()) and when the job was due (`timestamp + delay`); with `webhookUrl` it then
 * POSTs the job to that URL (a webhook sender built on BullMQ, for the push-throughput scenario).
 *
 * IPC: {type:"count"} → {type:"count", n}; {type:"collect"} → {type:"records", ids, at, due}.
 * Sends {type:"ready"} once the worker is connected. SIGTERM closes the worker and exits.
 */

interface Config {
	port: number;
	queue: string;
	concurrency: number;
	webhookUrl?: string;
}

const config = childConfig<Config>();
useRespClient();
const ids: string[] = [];
const at: number[] = [];
const due: number[] = [];

async function process_(job: Job): Promise<void> {
	at.push(Date.now());
	ids.push(String(job.id));
	due.push(job.timestamp + (job.opts.delay ?? 0));
	if (config.webhookUrl) {
		const res = await fetch(config.webhookUrl, {
			method: "POST",
			headers: { "content-type": "application/json", "webhook-id": String(job.id) },
			body: JSON.stringify(job.data),
			signal: AbortSignal.timeout(10_000),
		});
		await res.arrayBuffer();
		if (!res.ok) throw new Error(`webhook answered ${res.status}`);
	}
}

const worker = new Worker(config.queue, process_, {
	connection: redisAt(config.port),
	concurrency: config.concurrency,
	removeOnComplete: { count: 0 },
	removeOnFail: { count: 1000 },
});
worker.on("error", (err) => process.stderr.write(`bullmq worker: ${String(err)}\n`));

onRequest((msg: ChildMessage) => {
	if (msg.type === "count") tell({ type: "count", n: ids.length });
	else if (msg.type === "collect") tell({ type: "records", ids, at, due });
});

process.once("SIGTERM", () => {
	const force = setTimeout(() => process.exit(0), 2_000);
	worker.close(true).finally(() => {
		clearTimeout(force);
		process.exit(0);
	});
});

await worker.waitUntilReady();
tell({ type: "ready" });
