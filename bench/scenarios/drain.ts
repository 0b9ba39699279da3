import { Queue } from "bullmq";
import { redisAt } from "../bullmq-connection.ts";
import { startChild } from "../children.ts";
import type { RedisServer } from "../redis.ts";
import { createTopic, publishBatch, stillPending } from "../sundial.ts";
import { inParallel } from "../util.ts";
import { childCount, chunks, leadMs, type Profile, type Services, waitForCount } from "./common.ts";
import { drainFigures } from "./push.ts";

/** Give up waiting this long after the due instant. */
const DRAIN_MS = 60_000;

type Records = { type: string; ids: string[]; at: number[] };

/**
 * Scenario 8 for Sundial: `p.drainTotal` messages due at the same instant in a pull topic with
 * `partitions` partitions, drained by the bench's pull consumer (`p.drainPollers` long polls of up
 * to 100, acks not awaited). Messages/s = received ÷ (last arrival − due).
 */
export async function sundialPullDrain(
	svc: Services,
	p: Profile,
	topic: string,
	runId: string,
	partitions: number,
): Promise<Record<string, number>> {
	const s = svc.sundial;
	await createTopic(s, topic, "s", null, partitions);
	const consumer = startChild("pull-consumer.ts", {
		url: s.url,
		token: s.token,
		topic,
		sub: "s",
		pollers: p.drainPollers,
		max: 100,
		wait: "5s",
	});
	try {
		await consumer.next("ready");
		const n = p.drainTotal;
		const dueMs = Date.now() + leadMs(n);
		const deliverAt = new Date(dueMs).toISOString();
		const parts = chunks(n, p.batchSize);
		await inParallel(parts.length, p.batchInFlight, async (k) => {
			const [a, b] = parts[k] as [number, number];
			const items = [];
			for (let i = a; i < b; i++) items.push({ id: `${runId}-${i}`, body: { i }, deliver_at: deliverAt });
			await publishBatch(s, topic, items);
		});
		const publishOverranMs = Math.max(0, Date.now() - dueMs);
		await waitForCount(() => childCount(consumer), n, dueMs + 500, dueMs + DRAIN_MS);
		const rec = await consumer.ask<Records>({ type: "collect" }, "records", 60_000);
		const figures = drainFigures(n, dueMs, rec.ids, rec.at);
		const pending = figures.missing > 0 ? await stillPending(s, topic) : 0;
		return { ...figures, publishOverranMs, pending, partitions, pollers: p.drainPollers };
	} finally {
		await consumer.stop();
	}
}

/**
 * Scenario 8 for BullMQ: the same count due at once in a delayed queue, drained by a Worker in its
 * own process (concurrency p.bullConcurrency, a processor that only records): BullMQ's workers pull
 * their jobs from Redis, the counterpart of a pull consumer. Jobs/s = received ÷ (last start − due).
 */
export async function bullDrain(
	redis: RedisServer,
	p: Profile,
	queueName: string,
	runId: string,
): Promise<Record<string, number>> {
	const worker = startChild("bullmq-worker.ts", { port: redis.port, queue: queueName, concurrency: p.bullConcurrency });
	const queue = new Queue(queueName, { connection: redisAt(redis.port) });
	try {
		await worker.next("ready");
		await queue.waitUntilReady();
		const n = p.drainTotal;
		const dueMs = Date.now() + leadMs(n);
		for (const [a, b] of chunks(n, p.batchSize)) {
			const t0 = Date.now();
			const jobs = [];
			for (let i = a; i < b; i++) {
				const opts = { jobId: `${runId}-${i}`, timestamp: t0, delay: Math.max(0, dueMs - t0), removeOnComplete: true };
				jobs.push({ name: "m", data: { i }, opts });
			}
			await queue.addBulk(jobs);
		}
		const publishOverranMs = Math.max(0, Date.now() - dueMs);
		await waitForCount(() => childCount(worker), n, dueMs + 500, dueMs + DRAIN_MS);
		const rec = await worker.ask<Records>({ type: "collect" }, "records", 60_000);
		return { ...drainFigures(n, dueMs, rec.ids, rec.at), publishOverranMs, concurrency: p.bullConcurrency };
	} finally {
		await worker.stop();
		await queue.close();
	}
}
