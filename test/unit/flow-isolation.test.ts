import { describe, expect, it } from "vitest";
import { capacities, isolationCap } from "../../src/topic/flow";
import type { SubscriptionRow } from "../../src/topic/store";

/** The isolation share (src/topic/flow.ts): how many of a partition's 6 request slots each webhook subscription may hold. */

function webhook(sid: number): SubscriptionRow {
	return {
		sid,
		name: `s${sid}`,
		secret: "whsec_x",
		createdAtMs: 0,
		updatedAtMs: 0,
		config: {
			type: "webhook",
			url: "https://example.com/",
			headers: {},
			timeoutMs: 10_000,
			queue: null,
			visibilityTimeoutMs: 30_000,
			retry: { maxAttempts: 3, backoff: "fixed", baseMs: 1000, maxMs: 1000, jitter: false },
			paused: false,
		},
	} as SubscriptionRow;
}

const topic = { partition: 0, partitions: 1 };

describe("isolation share", () => {
	it("never lets the busy ones hold more than 6 with a slot in reserve for each idle one", () => {
		for (let n = 1; n <= 6; n++) {
			for (let b = 1; b <= n; b++) {
				const cap = isolationCap(n, b);
				expect(cap, `n=${n} b=${b}`).toBeGreaterThanOrEqual(1);
				expect(b * cap + (n - b), `n=${n} b=${b}`).toBeLessThanOrEqual(6);
			}
		}
		expect(isolationCap(1, 1)).toBe(6);
		expect(isolationCap(2, 1)).toBe(5);
		expect(isolationCap(2, 2)).toBe(3);
		expect(isolationCap(3, 2)).toBe(2);
		expect(isolationCap(3, 3)).toBe(2);
	});

	it("a subscription whose work arrives while two others hang still has slots; none beyond the 6", () => {
		const subs = new Map([1, 2, 3].map((sid) => [sid, webhook(sid)]));
		const nowMs = 1_000_000;
		const state = (inFlight: Record<number, number>, due: number[]) => ({
			inFlight: (sid: number) => inFlight[sid] ?? 0,
			startedSince: () => 0,
			oldestStartSince: () => null,
			earliestDue: new Map(due.map((sid) => [sid, nowMs])),
		});
		// Two hanging subscriptions claimed while the third was idle: 2 each, 2 left for it.
		const idle = capacities(subs, topic, state({}, [1, 2]), nowMs);
		expect(idle.get(1)?.free).toBe(2);
		expect(idle.get(2)?.free).toBe(2);
		const arrived = capacities(subs, topic, state({ 1: 2, 2: 2 }, [1, 2, 3]), nowMs);
		expect(arrived.get(3)).toMatchObject({ free: 2, heldBy: null });
		expect(arrived.get(1)).toMatchObject({ free: 0, heldBy: "isolation" });
		// Slots taken before (6 in flight) are never exceeded, whatever the shares say.
		const full = capacities(subs, topic, state({ 1: 3, 2: 3 }, [1, 2, 3]), nowMs);
		expect(full.get(3)).toMatchObject({ free: 0, heldBy: "isolation" });
	});
});
