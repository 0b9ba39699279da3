import { Queue } from "bullmq";
import { redisAt } from "../bullmq-connection.ts";
import { startChild } from "../children.ts";
import type { RedisServer } from "../redis.ts";
import { createTopic, publishBatch, stillPending, workerdCpuMs } from "../sundial.ts";
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

/** Concurrent webhook requests the BullMQ sender may have open by default (Sundial's own cap per object). */
const BULL_PUSH_CONCURRENCY = 6;
const DRAIN_MS = 60_000;
/** Less CPU than this (5 ticks of /proc's 10 ms) gives no CPU-per-delivery figure. */
const MIN_CPU_MS = 50;

/** What one push run sends and to whom; the defaults are scenario 6's. */
export interface PushOptions {
	/** Messages due at the same instant. */
	n: number;
	/** Sundial: the topic's partitions (default 1). */
	partitions?: number;
	/** BullMQ: the Worker's concurrency (default 6, Sundial's cap per object). */
	concurrency?: number;
	/** The receiver answers each request this late (default 0: at once). */
	receiverDelayMs?: number;
	/** Give up waiting this long after the due instant (default 60 s). */
	drainMs?: number;
}

/**
 * Deliveries/s of a run where `n` messages were all due at `dueMs`, from the arrivals seen
 * (ids, Date.now() at arrival): received ÷ (last arrival − due), the whole drain, start-up included.
 */
export function drainFigures(n: number, dueMs: number, ids: readonly string[], at: readonly number[]) {
	const unique = new Set(ids);
	const first = at.reduce((m, t) => Math.min(m, t), Number.POSITIVE_INFINITY);
	const last = at.reduce((m, t) => Math.max(m, t), Number.NEGATIVE_INFINITY);
	if (unique.size === 0) throw new Error(`drain run: nothing of ${n} arrived`);
	return {
		messages: n,
		received: unique.size,
		missing: n - unique.size,
		duplicates: ids.length - unique.size,
		early: at.filter((t) => t < dueMs).length,
		perSecond: unique.size / (Math.max(1, last - dueMs) / 1000),
		firstLateMs: first - dueMs,
		drainMs: last - dueMs,
	};
}

/** Push figures: the drain plus the receiver's view of the sender's concurrency. */
function pushFigures(n: number, dueMs: number, rec: ReceiverRecords) {
	return { ...drainFigures(n, dueMs, rec.ids, rec.at), maxConcurrent: rec.maxConcurrent, connections: rec.connections };
}

/** Scenario 6 (and 7) for Sundial: `o.n` messages due at the same instant, pushed to the receiver. */
export async function sundialPush(
	svc: Services,
	p: Profile,
	topic: string,
	runId: string,
	o: PushOptions = { n: p.pushTotal },
): Promise<Record<string, number>> {
	const path = `/push/${topic}`;
	await createTopic(svc.sundial, topic, "s", `${svc.receiver.url}${path}`, o.partitions ?? 1);
	await receiverReset(svc.receiver, path, o.receiverDelayMs ?? 0);
	const n = o.n;
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
	const cpuBeforeMs = workerdCpuMs(svc.sundial.pid);
	await waitForCount(() => receiverCount(svc.receiver, path), n, dueMs + 500, dueMs + (o.drainMs ?? DRAIN_MS));
	const cpuAfterMs = workerdCpuMs(svc.sundial.pid);
	const rec = await receiverCollect(svc.receiver, path);
	const figures = pushFigures(n, dueMs, rec);
	const pending = figures.missing > 0 ? await stillPending(svc.sundial, topic) : 0;
	// The Worker's CPU per delivery over the drain (publishing done): unlike the rate, barely moved by
	// what else runs on the machine. Left out when deliveries began while publishing (their CPU is
	// not in the count) or when too little CPU was used to read at /proc's 10 ms resolution.
	const cpuMs = cpuBeforeMs === null || cpuAfterMs === null ? 0 : cpuAfterMs - cpuBeforeMs;
	const cpu: Record<string, number> =
		publishOverranMs > 0 || cpuMs < MIN_CPU_MS || figures.received === 0
			? {}
			: { cpuUsPerDelivery: (cpuMs * 1000) / figures.received };
	return { ...figures, ...cpu, publishOverranMs, pending, partitions: o.partitions ?? 1 };
}

/**
 * Scenario 6 (and 7) for BullMQ: the same count due at once in a delayed queue; a Worker (own process,
 * concurrency `o.concurrency`, default 6) whose processor POSTs each job to the receiver, like a
 * webhook sender would.
 */
export async function bullPush(
	svc: Services,
	redis: RedisServer,
	p: Profile,
	queueName: string,
	runId: string,
	o: PushOptions = { n: p.pushTotal },
): Promise<Record<string, number>> {
	const path = `/push/${queueName}`;
	const concurrency = o.concurrency ?? BULL_PUSH_CONCURRENCY;
	await receiverReset(svc.receiver, path, o.receiverDelayMs ?? 0);
	const worker = startChild("bullmq-worker.ts", {
		port: redis.port,
		queue: queueName,
		concurrency,
		webhookUrl: `${svc.receiver.url}${path}`,
	});
	const queue = new Queue(queueName, { connection: redisAt(redis.port) });
	try {
		await worker.next("ready");
		await queue.waitUntilReady();
		const n = o.n;
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
		const deadlineMs = dueMs + (o.drainMs ?? DRAIN_MS);
		await waitForCount(() => receiverCount(svc.receiver, path), n, dueMs + 500, deadlineMs);
		const rec = await receiverCollect(svc.receiver, path);
		return { ...pushFigures(n, dueMs, rec), publishOverranMs, workerConcurrency: concurrency };
	} finally {
		await worker.stop();
		await queue.close();
	}
}
