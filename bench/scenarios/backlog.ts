import { Queue } from "bullmq";
import { redisAt } from "../bullmq-connection.ts";
import { type RedisServer, redisRss } from "../redis.ts";
import { createTopic, publishBatch, workerdRss } from "../sundial.ts";
import { inParallel, progress } from "../util.ts";
import { chunks, type Profile, type Services } from "./common.ts";
import { hookPath } from "./lateness.ts";

/** Due 1–24 h out, spread evenly-ish (a multiplicative hash of the index), in seconds. */
const backlogDelayS = (i: number) => 3600 + ((i * 7919) % (23 * 3600));

/** Logs a progress line at every tenth of `total`. */
function progressEvery(what: string, total: number, t0: number): (done: number) => void {
	let nextMark = total / 10;
	return (done) => {
		if (done < nextMark && done < total) return;
		nextMark += total / 10;
		const rate = done / ((performance.now() - t0) / 1000);
		progress(`  ${what}: ${done.toLocaleString("en")} / ${total.toLocaleString("en")} (${Math.round(rate)}/s)`);
	};
}

/**
 * Scenario 5 set-up for Sundial: `p.backlog` messages 1–24 h out in one topic whose webhook points at
 * the receiver (the lateness runs then publish into the same topic). Returns load figures and RSS.
 */
export async function sundialLoadBacklog(svc: Services, p: Profile, topic: string): Promise<Record<string, number>> {
	await createTopic(svc.sundial, topic, "s", `${svc.receiver.url}${hookPath(topic)}`);
	const rssBefore = workerdRss(svc.sundial.pid)?.rss ?? Number.NaN;
	const parts = chunks(p.backlog, p.batchSize);
	const t0 = performance.now();
	const tick = progressEvery("Sundial backlog", p.backlog, t0);
	let done = 0;
	await inParallel(parts.length, p.batchInFlight, async (k) => {
		const [a, b] = parts[k] as [number, number];
		const items = [];
		for (let i = a; i < b; i++) items.push({ id: `backlog-${i}`, body: { i }, delay: backlogDelayS(i) });
		await publishBatch(svc.sundial, topic, items);
		done += b - a;
		tick(done);
	});
	const seconds = (performance.now() - t0) / 1000;
	const rssAfter = workerdRss(svc.sundial.pid)?.rss ?? Number.NaN;
	return { messages: p.backlog, seconds, perSecond: p.backlog / seconds, rssBefore, rssAfter };
}

/** Scenario 5 set-up for BullMQ: the same backlog as delayed jobs in one queue (`addBulk`). */
export async function bullLoadBacklog(
	redis: RedisServer,
	p: Profile,
	queueName: string,
): Promise<Record<string, number>> {
	const rssBefore = await redisRss(redis);
	const queue = new Queue(queueName, { connection: redisAt(redis.port) });
	try {
		await queue.waitUntilReady();
		const t0 = performance.now();
		const tick = progressEvery("BullMQ backlog", p.backlog, t0);
		for (const [a, b] of chunks(p.backlog, p.batchSize)) {
			const jobs = [];
			for (let i = a; i < b; i++) {
				jobs.push({ name: "m", data: { i }, opts: { jobId: `backlog-${i}`, delay: backlogDelayS(i) * 1000 } });
			}
			await queue.addBulk(jobs);
			tick(b);
		}
		const seconds = (performance.now() - t0) / 1000;
		return { messages: p.backlog, seconds, perSecond: p.backlog / seconds, rssBefore, rssAfter: await redisRss(redis) };
	} finally {
		await queue.close();
	}
}

/** Redis' used_memory_rss now (BullMQ's memory), bytes. */
export async function bullMemoryNow(redis: RedisServer): Promise<Record<string, number>> {
	return { rssBytes: await redisRss(redis) };
}

/** The memory of the workerd process running Sundial now, bytes. */
export async function sundialMemoryNow(svc: Services): Promise<Record<string, number>> {
	const m = workerdRss(svc.sundial.pid);
	return {
		rssBytes: m?.rss ?? Number.NaN,
		anonBytes: m?.anon ?? Number.NaN,
		fileBytes: m?.file ?? Number.NaN,
		shmemBytes: m?.shmem ?? Number.NaN,
	};
}
