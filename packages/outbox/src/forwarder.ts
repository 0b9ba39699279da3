/**
 * Sends due topics' messages to Sundial in batches, oldest first, and settles each batch in one
 * transaction once Sundial has answered. A crash between the send and that transaction leaves the
 * rows in place; the next run sends them again under the same ids and Sundial answers duplicate,
 * so nothing is scheduled twice.
 */

import { backoffMs } from "./backoff";
import { classifyReply, classifyThrown } from "./classify";
import type { OutboxRow, OutboxStore, RefusalBody } from "./store";
import type { SundialPublisher } from "./types";

/** Most JSON bytes in one call (a service-binding call carries at most 32 MiB). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** The forwarder's settings (OutboxOptions with defaults applied). */
export interface ForwardSettings {
	batchSize: number;
	maxCallsPerAlarm: number;
	minBackoffMs: number;
	maxBackoffMs: number;
}

/** What one run did. */
export interface ForwardSummary {
	/** Calls to Sundial made. */
	calls: number;
	/** Messages Sundial has now (stored, or duplicates of ones it had). */
	stored: number;
	/** Messages moved to the dead table. */
	refused: number;
}

export class Forwarder {
	/** Halved for this instance when Sundial answers batch_too_large. */
	private batchSize: number;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly store: OutboxStore,
		private readonly sundial: SundialPublisher,
		private readonly settings: ForwardSettings,
	) {
		this.batchSize = settings.batchSize;
	}

	/** Sends what is due, one batch per call, up to maxCallsPerAlarm calls. */
	async run(): Promise<ForwardSummary> {
		const summary: ForwardSummary = { calls: 0, stored: 0, refused: 0 };
		while (summary.calls < this.settings.maxCallsPerAlarm) {
			const due = this.store.dueTopic(Date.now());
			if (due === null) break;
			const rows = this.store.batch(due.topic, this.batchSize, MAX_BATCH_BYTES);
			if (rows.length === 0) {
				this.store.topicSent(due.topic, Date.now());
				continue;
			}
			summary.calls += 1;
			await this.send(due.topic, due.failures, rows, summary);
		}
		return summary;
	}

	private async send(topic: string, failures: number, rows: OutboxRow[], summary: ForwardSummary): Promise<void> {
		let replies: unknown;
		try {
			replies = await this.sundial.publishBatch(
				topic,
				rows.map((r) => JSON.parse(r.message) as unknown),
			);
		} catch (error) {
			const outcome = classifyThrown(error);
			if (outcome.kind === "refused") {
				this.settle(
					topic,
					failures,
					[],
					rows.map((r) => ({ seq: r.seq, error: outcome.error })),
					null,
					summary,
				);
			} else if (outcome.kind === "smaller_batch" && rows.length > 1) {
				this.batchSize = Math.max(1, Math.floor(rows.length / 2));
				this.store.topicDue(topic, Date.now());
			} else {
				this.settle(topic, failures, [], [], outcome.error, summary);
			}
			return;
		}
		if (!Array.isArray(replies) || replies.length !== rows.length) {
			this.settle(topic, failures, [], [], "Sundial's answer does not match the batch", summary);
			return;
		}
		const stored: number[] = [];
		const refused: { seq: number; error: RefusalBody }[] = [];
		let retryError: string | null = null;
		rows.forEach((row, i) => {
			const outcome = classifyReply(replies[i]);
			if (outcome.kind === "stored") stored.push(row.seq);
			else if (outcome.kind === "refused") refused.push({ seq: row.seq, error: outcome.error });
			else retryError ??= `message ${row.id}: ${outcome.error}`;
		});
		this.settle(topic, failures, stored, refused, retryError, summary);
	}

	/** Records a batch's outcome in one transaction; with `retryError`, the topic waits its backoff. */
	private settle(
		topic: string,
		failures: number,
		stored: readonly number[],
		refused: readonly { seq: number; error: RefusalBody }[],
		retryError: string | null,
		summary: ForwardSummary,
	): void {
		const nowMs = Date.now();
		this.storage.transactionSync(() => {
			this.store.settle(stored, refused, nowMs);
			if (retryError === null) this.store.topicSent(topic, nowMs);
			else {
				const waitMs = backoffMs(failures + 1, this.settings.minBackoffMs, this.settings.maxBackoffMs);
				this.store.topicFailed(topic, retryError, nowMs + waitMs);
			}
		});
		if (retryError !== null) console.warn(`sundial-outbox: sending to "${topic}" failed, will retry: ${retryError}`);
		summary.stored += stored.length;
		summary.refused += refused.length;
	}
}
