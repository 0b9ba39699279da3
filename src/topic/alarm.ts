/**
 * The object's one alarm, in two verbs: `wakeBy(atMs)` makes sure it fires no later than `atMs`
 * (an alarm already set earlier covers the need), and `setTo(atMs | null)` replaces it with the
 * earliest pending time, or deletes it when nothing is pending. Never earlier than now + 1 ms
 * (PLATFORM.md §3).
 */
export class Alarm {
	/** The alarm time as this instance last set or read it; undefined = not known yet. */
	private atMs: number | null | undefined;

	constructor(private readonly storage: DurableObjectStorage) {}

	/** Makes sure the alarm fires no later than `atMs`. */
	async wakeBy(atMs: number): Promise<void> {
		if (this.atMs === undefined) this.atMs = await this.storage.getAlarm();
		if (this.atMs !== null && this.atMs <= atMs) return;
		const at = Math.max(atMs, Date.now() + 1);
		await this.storage.setAlarm(at);
		this.atMs = at;
	}

	/** Sets the alarm to `atMs` (the earliest pending time), or deletes it when null. */
	async setTo(atMs: number | null): Promise<void> {
		if (atMs === null) {
			await this.storage.deleteAlarm();
			this.atMs = null;
			return;
		}
		const at = Math.max(atMs, Date.now() + 1);
		await this.storage.setAlarm(at);
		this.atMs = at;
	}

	/** The alarm that woke the object has fired: none is set until something sets one. */
	fired(): void {
		this.atMs = null;
	}

	/** Storage was wiped (alarm included). */
	forget(): void {
		this.atMs = null;
	}
}
