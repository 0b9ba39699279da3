/**
 * Sharing the object's one alarm with your code (README "Your alarm and the outbox's").
 *
 * The outbox never owns `alarm()` and never moves the alarm later or deletes it: it only moves it
 * earlier, to the time its next send is due. When that displaces a later time of yours, it keeps
 * yours in `_sundial_outbox_meta` (`displaced_ms`) and sets the alarm back to it after its own
 * work, so your alarm still fires at your time (and possibly also earlier, for the outbox).
 *
 * To tell a time of yours from one it set itself, it keeps the last time it wrote (`armed_ms`):
 * a future alarm other than that one was set by your code, and is your latest wish.
 */

import type { OutboxStore } from "./store";

const minOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

export class AlarmKeeper {
	/** Alarm changes run one at a time (each reads the alarm, then writes it). */
	private queue: Promise<unknown> = Promise.resolve();

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly store: OutboxStore,
	) {}

	/** Moves the alarm earlier if the outbox (or a time of yours it displaced) needs it earlier. */
	ensure(): Promise<void> {
		return this.serial(async () => {
			const current = await this.storage.getAlarm();
			const nowMs = Date.now();
			const future = current !== null && current > nowMs ? current : null;
			const stored = this.store.alarmValue("displaced_ms");
			// A future alarm the outbox did not set is your latest wish: it replaces a time displaced before.
			const yours = future !== null && future !== this.store.alarmValue("armed_ms") ? future : null;
			let displaced = yours === null ? stored : null;
			const need = minOf(this.store.nextDueMs(), displaced);
			const target = need === null ? null : Math.max(need, nowMs + 1);
			const move = target !== null && (future === null || future > target);
			if (move && yours !== null) displaced = yours;
			if (displaced !== stored) this.store.setAlarmValue("displaced_ms", displaced);
			if (move) await this.write(target);
		});
	}

	/** At the start of an alarm run: a displaced time of yours that has come is this run; forget it. */
	alarmStarted(nowMs: number): void {
		const displaced = this.store.alarmValue("displaced_ms");
		if (displaced !== null && displaced <= nowMs) this.store.setAlarmValue("displaced_ms", null);
	}

	/** Your alarm at `atMs`: set now if the outbox needs nothing earlier, else kept and set after its work. */
	setYours(atMs: number): Promise<void> {
		return this.serial(async () => {
			const nowMs = Date.now();
			const own = this.store.nextDueMs();
			const ownAt = own === null ? null : Math.max(own, nowMs + 1);
			if (ownAt !== null && ownAt < atMs) {
				this.store.setAlarmValue("displaced_ms", atMs);
				await this.write(ownAt);
				return;
			}
			this.store.setAlarmValue("displaced_ms", null);
			this.store.setAlarmValue("armed_ms", null);
			await this.storage.setAlarm(atMs);
		});
	}

	/** Cancels your alarm; the outbox's own stays. */
	deleteYours(): Promise<void> {
		return this.serial(async () => {
			this.store.setAlarmValue("displaced_ms", null);
			const own = this.store.nextDueMs();
			if (own !== null) {
				await this.write(Math.max(own, Date.now() + 1));
				return;
			}
			this.store.setAlarmValue("armed_ms", null);
			await this.storage.deleteAlarm();
		});
	}

	private async write(atMs: number): Promise<void> {
		this.store.setAlarmValue("armed_ms", atMs);
		await this.storage.setAlarm(atMs);
	}

	private serial(step: () => Promise<void>): Promise<void> {
		const run = this.queue.then(step, step);
		this.queue = run.catch(() => undefined);
		return run;
	}
}
