import { Queue } from "bullmq";
import { redisAt } from "../bullmq-connection.ts";
import { startChild } from "../children.ts";
import type { RedisServer } from "../redis.ts";
import { lateness } from "../stats.ts";
import { createTopic, publishBatch, stillPending } from "../sundial.ts";
import { inParallel } from "../util.ts";
import {
	childCount,
	chunks,
	leadMs,
	type Profile,
	type Receiver,
	receiverCollect,
	receiverCount,
	receiverReset,
	type Services,
	schedule,
	waitForCount,
} from "./common.ts";

/** Figures of one lateness run (ms, counts). */
export type LatenessValues = Record<string, number>;

/** How long after the last due time a run may keep waiting for stragglers. */
const DRAIN_MS = 30_000;

export interface SundialLatenessOptions {
	rate: number;
	topic: string;
	/** Unique per run (message ids are `${runId}-${i}`). */
	runId: string;
	mode: "webhook" | "pull";
	/** The topic (and its subscription "s") exists already (the backlog scenario). */
	existing?: boolean;
	/** Seconds of due times (default p.windowS). */
	windowS?: number;
	/** The topic's partitions (default 1). */
	partitions?: number;
	/** The receiver answers each webhook this late (default 0: at once). */
	receiverDelayMs?: number;
	/** How far ahead of the first due time the schedule starts (default leadMs(n)). */
	leadMs?: number;
	/** How long after the last due time to wait for stragglers (default DRAIN_MS, 30 s). */
	drainMs?: number;
}

/** The receiver path of a topic's webhook subscription. */
export const hookPath = (topic: string) => `/h/${topic}`;

/**
 * Scenario 1/2 for Sundial: publishes `rate`/s × window with absolute `deliver_at` via the batch route,
 * all before the first is due, then records when each arrives at the receiver (webhook) or at the pull
 * consumer. Lateness = arrival − due.
 */
export async function sundialLateness(svc: Services, p: Profile, o: SundialLatenessOptions): Promise<LatenessValues> {
	const s = svc.sundial;
	const path = hookPath(o.topic);
	const url = o.mode === "webhook" ? `${svc.receiver.url}${path}` : null;
	if (!o.existing) await createTopic(s, o.topic, "s", url, o.partitions ?? 1);
	await receiverReset(svc.receiver, path, o.receiverDelayMs ?? 0);
	const windowS = o.windowS ?? p.windowS;
	const consumer =
		o.mode === "pull"
			? startChild("pull-consumer.ts", {
					url: s.url,
					token: s.token,
					topic: o.topic,
					sub: "s",
					pollers: p.pullPollers,
					max: 100,
					wait: "5s",
				})
			: null;
	try {
		if (consumer) await consumer.next("ready");
		const n = Math.round(o.rate * windowS);
		const startMs = Date.now() + (o.leadMs ?? leadMs(n));
		const dues = schedule(o.rate, windowS, startMs);
		const items = dues.map((due, i) => ({
			id: `${o.runId}-${i}`,
			body: { i },
			deliver_at: new Date(due).toISOString(),
		}));
		const parts = chunks(n, p.batchSize);
		await inParallel(parts.length, p.batchInFlight, async (k) => {
			const [a, b] = parts[k] as [number, number];
			await publishBatch(s, o.topic, items.slice(a, b));
		});
		const publishOverranMs = Math.max(0, Date.now() - startMs);
		const lastDue = dues[dues.length - 1] ?? startMs;
		const count = consumer ? () => childCount(consumer) : () => receiverCount(svc.receiver, path);
		await waitForCount(count, n, lastDue + 500, lastDue + (o.drainMs ?? DRAIN_MS));
		const rec = consumer
			? await consumer.ask<{ type: string; ids: string[]; at: number[] }>({ type: "collect" }, "records", 60_000)
			: await receiverCollect(svc.receiver, path);
		const prefix = `${o.runId}-`;
		const dueOf = (id: string) => (id.startsWith(prefix) ? dues[Number(id.slice(prefix.length))] : undefined);
		const l = lateness(n, rec.ids, rec.at, dueOf);
		const maxConcurrent = "maxConcurrent" in rec ? (rec.maxConcurrent as number) : Number.NaN;
		const pending = l.missing > 0 ? await stillPending(s, o.topic) : 0;
		return { rate: o.rate, ...l, publishOverranMs, maxConcurrent, pending, partitions: o.partitions ?? 1 };
	} finally {
		await consumer?.stop();
	}
}

export interface BullLatenessOptions {
	rate: number;
	queue: string;
	runId: string;
	/** Seconds of due times (default p.windowS). */
	windowS?: number;
	/** Worker concurrency (default p.bullConcurrency). */
	concurrency?: number;
	/**
	 * The processor POSTs each job to the receiver, which answers `delayMs` late; lateness is then
	 * measured where Sundial's webhook runs measure it, at the receiver (default: no POST).
	 */
	webhook?: { receiver: Receiver; delayMs: number };
}

/**
 * Scenario 1 for BullMQ: `addBulk` of the same schedule (delay = due − timestamp) into `queue`, a Worker
 * (concurrency p.bullConcurrency) in its own process; lateness = processor start − (timestamp + delay),
 * or with `o.webhook` arrival at the receiver − due.
 */
export async function bullLateness(redis: RedisServer, p: Profile, o: BullLatenessOptions): Promise<LatenessValues> {
	const path = hookPath(o.queue);
	const hook = o.webhook;
	if (hook) await receiverReset(hook.receiver, path, hook.delayMs);
	const worker = startChild("bullmq-worker.ts", {
		port: redis.port,
		queue: o.queue,
		concurrency: o.concurrency ?? p.bullConcurrency,
		...(hook ? { webhookUrl: `${hook.receiver.url}${path}` } : {}),
	});
	const queue = new Queue(o.queue, { connection: redisAt(redis.port) });
	const windowS = o.windowS ?? p.windowS;
	try {
		await worker.next("ready");
		await queue.waitUntilReady();
		const n = Math.round(o.rate * windowS);
		const startMs = Date.now() + leadMs(n);
		const dues = schedule(o.rate, windowS, startMs);
		for (const [a, b] of chunks(n, p.batchSize)) {
			const t0 = Date.now();
			const jobs = [];
			for (let i = a; i < b; i++) {
				const due = dues[i] as number;
				const opts = { jobId: `${o.runId}-${i}`, timestamp: t0, delay: Math.max(0, due - t0), removeOnComplete: true };
				jobs.push({ name: "m", data: { i }, opts });
			}
			await queue.addBulk(jobs);
		}
		const publishOverranMs = Math.max(0, Date.now() - startMs);
		const lastDue = dues[dues.length - 1] ?? startMs;
		const prefix = `${o.runId}-`;
		if (hook) {
			await waitForCount(() => receiverCount(hook.receiver, path), n, lastDue + 500, lastDue + DRAIN_MS);
			const rec = await receiverCollect(hook.receiver, path);
			const dueOf = (id: string) => (id.startsWith(prefix) ? dues[Number(id.slice(prefix.length))] : undefined);
			const l = lateness(n, rec.ids, rec.at, dueOf);
			return { rate: o.rate, ...l, publishOverranMs, hz: redis.hz, maxConcurrent: rec.maxConcurrent };
		}
		await waitForCount(() => childCount(worker), n, lastDue + 500, lastDue + DRAIN_MS);
		const rec = await worker.ask<{ type: string; ids: string[]; at: number[]; due: number[] }>(
			{ type: "collect" },
			"records",
			60_000,
		);
		const l = lateness(n, rec.ids, rec.at, (id, i) => (id.startsWith(prefix) ? rec.due[i] : undefined));
		return { rate: o.rate, ...l, publishOverranMs, hz: redis.hz };
	} finally {
		await worker.stop();
		await queue.close();
	}
}
