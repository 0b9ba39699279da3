import type { TopicStore } from "./store";
import type { AdminStore, Job } from "./store-admin";

/** Rows one maintenance transaction touches: bounded so no single commit grows large. */
export const MAINTENANCE_BATCH = 1000;
/** Maintenance transactions one alarm run makes before it re-arms. */
export const MAINTENANCE_ROUNDS = 20;

/** Lets the implicit transaction commit (a new event-loop turn), so each batch commits alone. */
export const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Runs one batch of a job; true when the job is finished. */
export function runJobBatch(store: TopicStore, admin: AdminStore, job: Job, nowMs: number): boolean {
	let n: number;
	switch (job.kind) {
		case "redrive":
			n = admin.redriveBatch(job.sid, job.beforeMs, nowMs, MAINTENANCE_BATCH);
			break;
		case "purge_dead":
			n = admin.purgeBatch(job.sid, job.beforeMs, MAINTENANCE_BATCH);
			break;
		case "drop_subscription":
			n = store.dropDeliveries(job.sid, MAINTENANCE_BATCH);
			break;
	}
	if (n < MAINTENANCE_BATCH) admin.finishJob(job.id);
	return n < MAINTENANCE_BATCH;
}

/**
 * Background work of one alarm run, in bounded transactions: queued jobs (redrive, purge,
 * dropping a removed subscription's deliveries), then the retention sweep. Returns true when
 * work is left (the alarm then re-arms at once).
 */
export async function runMaintenance(
	store: TopicStore,
	admin: AdminStore,
	retentionMs: number,
	nowMs: () => number,
): Promise<boolean> {
	for (let round = 0; round < MAINTENANCE_ROUNDS; round++) {
		const job = admin.nextJob();
		if (job) {
			store.transaction(() => runJobBatch(store, admin, job, nowMs()));
		} else {
			const swept = store.transaction(() => admin.sweepFinished(nowMs() - retentionMs, MAINTENANCE_BATCH));
			if (swept < MAINTENANCE_BATCH) return false;
		}
		await nextTurn();
	}
	return true;
}

/** When maintenance next needs the alarm: now for queued jobs, else the next retention expiry. */
export function nextMaintenanceAtMs(admin: AdminStore, retentionMs: number, nowMs: number): number | null {
	if (admin.nextJob()) return nowMs;
	const oldest = admin.oldestFinishedAtMs();
	return oldest === null ? null : oldest + retentionMs;
}
