/**
 * The lock partition 0 holds for topic-wide subscription writes: one writer at a time, so two
 * concurrent PUTs (or a PUT and a DELETE) cannot leave partitions with different subscriptions.
 * In memory: a restart of the object frees it, and so does its expiry (a writer that died).
 */
export class WriteLock {
	private holder: { token: string; untilMs: number } | null = null;

	/** Takes (or renews) the lock for `token` until now + `ttlMs`; false while another holds it. */
	take(token: string, ttlMs: number, nowMs = Date.now()): boolean {
		if (this.holder && this.holder.token !== token && this.holder.untilMs > nowMs) return false;
		this.holder = { token, untilMs: nowMs + ttlMs };
		return true;
	}

	release(token: string): void {
		if (this.holder?.token === token) this.holder = null;
	}
}
