import { Queue } from "bullmq";
import { redisAt } from "../bullmq-connection.ts";
import type { RedisServer } from "../redis.ts";
import { createTopic, publishBatch, publishOne } from "../sundial.ts";
import { inParallel } from "../util.ts";
import { chunks, type Profile, type Services } from "./common.ts";

/** Publishes far enough out that nothing comes due during the bench. */
const DELAY_S = 2 * 3600;

/** Where the (never due during the run) messages of publish-only topics would be delivered. */
const sinkPath = "/sink";

/** Creates a topic (with `partitions` partitions) for a publish-only run unless `existing`. */
async function topicFor(svc: Services, topic: string, existing: boolean, partitions = 1): Promise<void> {
	if (!existing) await createTopic(svc.sundial, topic, "s", `${svc.receiver.url}${sinkPath}`, partitions);
}

/**
 * Scenario 3 for Sundial: `total` delayed messages in batches of `batchSize` via the batch route,
 * `batchInFlight` batches at a time, into a topic with `partitions` partitions. Returns messages/s
 * (first request sent → last response read).
 */
export async function sundialBatch(
	svc: Services,
	p: Profile,
	topic: string,
	runId: string,
	existing = false,
	partitions = 1,
): Promise<Record<string, number>> {
	await topicFor(svc, topic, existing, partitions);
	const parts = chunks(p.batchTotal, p.batchSize);
	const t0 = performance.now();
	await inParallel(parts.length, p.batchInFlight, async (k) => {
		const [a, b] = parts[k] as [number, number];
		const items = [];
		for (let i = a; i < b; i++) items.push({ id: `${runId}-${i}`, body: { i }, delay: DELAY_S + (i % 3600) });
		await publishBatch(svc.sundial, topic, items);
	});
	const s = (performance.now() - t0) / 1000;
	return { messages: p.batchTotal, seconds: s, perSecond: p.batchTotal / s, inFlight: p.batchInFlight, partitions };
}

/** Scenario 3 for BullMQ: `addBulk` of the same counts, one batch after the other. Returns jobs/s. */
export async function bullAddBulk(
	redis: RedisServer,
	p: Profile,
	queueName: string,
	runId: string,
): Promise<Record<string, number>> {
	const queue = new Queue(queueName, { connection: redisAt(redis.port) });
	try {
		await queue.waitUntilReady();
		const t0 = performance.now();
		for (const [a, b] of chunks(p.batchTotal, p.batchSize)) {
			const jobs = [];
			for (let i = a; i < b; i++) {
				jobs.push({ name: "m", data: { i }, opts: { jobId: `${runId}-${i}`, delay: (DELAY_S + (i % 3600)) * 1000 } });
			}
			await queue.addBulk(jobs);
		}
		const s = (performance.now() - t0) / 1000;
		return { messages: p.batchTotal, seconds: s, perSecond: p.batchTotal / s, inFlight: 1 };
	} finally {
		await queue.close();
	}
}

/** Scenario 4 for Sundial: `singleTotal` single publishes over HTTP, `singleInFlight` at a time. Returns req/s. */
export async function sundialSingle(
	svc: Services,
	p: Profile,
	topic: string,
	runId: string,
): Promise<Record<string, number>> {
	await topicFor(svc, topic, false);
	const t0 = performance.now();
	await inParallel(p.singleTotal, p.singleInFlight, (i) =>
		publishOne(svc.sundial, topic, { id: `${runId}-${i}`, body: { i }, delay: DELAY_S }),
	);
	const s = (performance.now() - t0) / 1000;
	return {
		requests: p.singleTotal,
		seconds: s,
		perSecond: p.singleTotal / s,
		inFlight: p.singleInFlight,
		healthPerSecond: await healthRate(svc, p),
	};
}

/** The HTTP floor of the local stack: `GET /health` (no auth, no Durable Object) at the same concurrency. */
async function healthRate(svc: Services, p: Profile): Promise<number> {
	const n = Math.min(p.singleTotal, 2_000);
	const t0 = performance.now();
	await inParallel(n, p.singleInFlight, async () => {
		const res = await fetch(`${svc.sundial.url}/health`, { signal: AbortSignal.timeout(30_000) });
		await res.arrayBuffer();
		if (res.status !== 200) throw new Error(`GET /health: ${res.status}`);
	});
	return n / ((performance.now() - t0) / 1000);
}

/** Scenario 4 for BullMQ: `queue.add` in-process (no HTTP), `singleInFlight` at a time. Returns jobs/s. */
export async function bullAdd(
	redis: RedisServer,
	p: Profile,
	queueName: string,
	runId: string,
): Promise<Record<string, number>> {
	const queue = new Queue(queueName, { connection: redisAt(redis.port) });
	try {
		await queue.waitUntilReady();
		const t0 = performance.now();
		await inParallel(p.singleTotal, p.singleInFlight, async (i) => {
			await queue.add("m", { i }, { jobId: `${runId}-${i}`, delay: DELAY_S * 1000 });
		});
		const s = (performance.now() - t0) / 1000;
		return { requests: p.singleTotal, seconds: s, perSecond: p.singleTotal / s, inFlight: p.singleInFlight };
	} finally {
		await queue.close();
	}
}
