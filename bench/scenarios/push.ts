import { Queue } from "bullmq";
import { redisAt } from "../bullmq-connection.ts";
import { startChild } from "../children.ts";
import type { RedisServer } from "../redis.ts";
import { createTopic, publishBatch, stillPending } from "../sundial.ts";
import { inParallel } from "../util.ts";
import {
	chunks,
	leadMs,
	type Profile,
	type ReceiverRecords,
	receiverCollect,
	receiverCount,
	receiverReset,
	type Services,
	waitForCount,
} from "./common.ts";

/** Concurrent webhook requests the BullMQ sender may have open (Sundial's own cap per object). */
const BULL_PUSH_CONCURRENCY = 6;
const DRAIN_MS = 60_000;

/** Deliveries/s and the receiver's view of a push run where every message was due at `dueMs`. */
function pushFigures(n: number, dueMs: number, rec: ReceiverRecords) {
	const unique = new Set(rec.ids);
	const first = rec.at.reduce((m, t) => Math.min(m, t), Number.POSITIVE_INFINITY);
	const last = rec.at.reduce((m, t) => Math.max(m, t), Number.NEGATIVE_INFINITY);
	if (unique.size === 0) throw new Error(`push run: nothing of ${n} arrived`);
	return {
		messages: n,
		received: unique.size,
		missing: n - unique.size,
		duplicates: rec.ids.length - unique.size,
		early: rec.at.filter((t) => t < dueMs).length,
		/** n ÷ (last arrival − due): the whole drain, start-up included. */
		perSecond: unique.size / (Math.max(1, last - dueMs) / 1000),
		firstLateMs: first - dueMs,
		drainMs: last - dueMs,
		maxConcurrent: rec.maxConcurrent,
		connections: rec.connections,
	};
}

/** Scenario 6 for Sundial: `pushTotal` messages due at the same instant, pushed to the receiver. */
export async function sundialPush(
	svc: Services,
	p: Profile,
	topic: string,
	runId: string,
): Promise<Record<string, number>> {
	const path = `/push/${topic}`;
	await createTopic(svc.sundial, topic, "s", `${svc.receiver.url}${path}`);
	await receiverReset(svc.receiver, path);
	const n = p.pushTotal;
	const dueMs = Date.now() + leadMs(n);
	const deliverAt = new Date(dueMs).toISOString();
	const parts = chunks(n, p.batchSize);
	await inParallel(parts.length, p.batchInFlight, async (k) => {
		const [a, b] = parts[k] as [number, number];
		const items = [];
		for (let i = a; i < b; i++) items.push({ id: `${runId}-${i}`, body: { i }, deliver_at: deliverAt });
		await publishBatch(svc.sundial, topic, items);
	});
	const publishOverranMs = Math.max(0, Date.now() - dueMs);
	await waitForCount(() => receiverCount(svc.receiver, path), n, dueMs + 500, dueMs + DRAIN_MS);
	const rec = await receiverCollect(svc.receiver, path);
	const figures = pushFigures(n, dueMs, rec);
	const pending = figures.missing > 0 ? await stillPending(svc.sundial, topic) : 0;
	return { ...figures, publishOverranMs, pending };
}

/**
 * Scenario 6 for BullMQ: the same count due at once in a delayed queue; a Worker (own process,
 * concurrency 6) whose processor POSTs each job to the receiver, like a webhook sender would.
 */
export async function bullPush(
	svc: Services,
	redis: RedisServer,
	p: Profile,
	queueName: string,
	runId: string,
): Promise<Record<string, number>> {
	const path = `/push/${queueName}`;
	await receiverReset(svc.receiver, path);
	const worker = startChild("bullmq-worker.ts", {
		port: redis.port,
		queue: queueName,
		concurrency: BULL_PUSH_CONCURRENCY,
		webhookUrl: `${svc.receiver.url}${path}`,
	});
	const queue = new Queue(queueName, { connection: redisAt(redis.port) });
	try {
		await worker.next("ready");
		await queue.waitUntilReady();
		const n = p.pushTotal;
		const dueMs = Date.now() + leadMs(n);
		for (const [a, b] of chunks(n, p.batchSize)) {
			const t0 = Date.now();
			const jobs = [];
			for (let i = a; i < b; i++) {
				jobs.push({
					name: "m",
					data: { i },
					opts: { jobId: `${runId}-${i}`, timestamp: t0, delay: Math.max(0, dueMs - t0), removeOnComplete: true },
				});
			}
			await queue.addBulk(jobs);
		}
		const publishOverranMs = Math.max(0, Date.now() - dueMs);
		await waitForCount(() => receiverCount(svc.receiver, path), n, dueMs + 500, dueMs + DRAIN_MS);
		const rec = await receiverCollect(svc.receiver, path);
		return { ...pushFigures(n, dueMs, rec), publishOverranMs, workerConcurrency: BULL_PUSH_CONCURRENCY };
	} finally {
		await worker.stop();
		await queue.close();
	}
}
