import { describe, expect, it } from "vitest";
import { CLAIM_AHEAD_MS, dispatchDue } from "../../src/topic/dispatcher";
import type { AttemptRecord, ClaimedDelivery, SubscriptionRow, TopicStore } from "../../src/topic/store";

/** A subscription of type queue whose binding records when each batch was sent. */
function queueSub(): SubscriptionRow {
	return {
		sid: 1,
		name: "q",
		secret: null,
		createdAtMs: 0,
		updatedAtMs: 0,
		config: {
			type: "queue",
			url: null,
			headers: {},
			timeoutMs: 30_000,
			queue: "Q",
			visibilityTimeoutMs: 30_000,
			retry: { maxAttempts: 3, backoff: "fixed", baseMs: 1000, maxMs: 1000, jitter: false },
			paused: false,
		},
	};
}

function claimed(mid: number, dueAtMs: number): ClaimedDelivery {
	return {
		mid,
		sid: 1,
		lease: 1,
		attempt: 1,
		messageId: `m${mid}`,
		body: "{}",
		contentType: "application/json",
		headers: {},
		requestId: null,
		deliverAtMs: dueAtMs,
		publishedAtMs: dueAtMs,
		dueAtMs,
		options: null,
		key: null,
	};
}

describe("dispatchDue (with a stand-in store)", () => {
	// Deliveries are claimed up to CLAIM_AHEAD_MS before they are due, then wait in memory.
	it("claims ahead of the due time but sends at the due time, never before", async () => {
		const dueAtMs = Date.now() + CLAIM_AHEAD_MS - 1;
		let claims = 0;
		const recorded: AttemptRecord[] = [];
		const store = {
			transaction: <T>(fn: () => T) => fn(),
			recordAttempts: (records: readonly AttemptRecord[]) => {
				recorded.push(...records);
				return records.length;
			},
			expireLeases: () => 0,
			claimDue: (dueBy: number) => {
				claims++;
				return claims === 1 && dueBy >= dueAtMs ? [claimed(1, dueAtMs)] : [];
			},
			nextPendingAtMs: () => null,
		} as unknown as TopicStore;
		const sentAt: number[] = [];
		const binding = {
			send: async () => {},
			sendBatch: async () => {
				sentAt.push(Date.now());
			},
		};
		const attempts = await dispatchDue({
			store,
			topicName: "t",
			subscriptions: () => new Map([[1, queueSub()]]),
			bindings: { Q: binding },
			maxDeliveries: 100,
			qstashKey: null,
			wakeBy: async () => {},
		});
		expect(attempts).toBe(1);
		expect(sentAt).toHaveLength(1);
		expect(sentAt[0]).toBeGreaterThanOrEqual(dueAtMs);
		expect(recorded.map((r) => r.kind)).toEqual(["delivered"]);
	});

	// A receiver that hangs must not hold the run's end, and with it the next run (every other
	// subscription's deliveries), until its timeout: the attempt is carried past the run.
	it("ends a run that spent its deliveries without waiting for an attempt still in flight, and carries it", async () => {
		const recorded: AttemptRecord[] = [];
		let claims = 0;
		const store = {
			transaction: <T>(fn: () => T) => fn(),
			recordAttempts: (records: readonly AttemptRecord[]) => {
				recorded.push(...records);
				return records.length;
			},
			expireLeases: () => 0,
			// Two claims of one delivery each, both due now.
			claimDue: () => (++claims <= 2 ? [claimed(claims, Date.now())] : []),
			nextPendingAtMs: () => (claims < 2 ? Date.now() : null),
		} as unknown as TopicStore;
		let release: () => void = () => {};
		const hanging = new Promise<void>((resolve) => (release = resolve));
		let sends = 0;
		const binding = {
			send: async () => {},
			// The first batch hangs until released; the second is answered at once.
			sendBatch: async () => {
				if (++sends === 1) await hanging;
			},
		};
		const carried: Promise<AttemptRecord[]>[] = [];
		const attempts = await dispatchDue({
			store,
			topicName: "t",
			subscriptions: () => new Map([[1, queueSub()]]),
			bindings: { Q: binding },
			maxDeliveries: 2,
			qstashKey: null,
			wakeBy: async () => {},
			carry: (attempt) => carried.push(attempt),
		});
		// The run ended with the first attempt still waiting (it is never released before this point).
		// Whatever was still in flight at the end is carried; the rest was recorded by the run.
		expect(attempts).toBe(2);
		expect(sends).toBe(2);
		expect(carried.length).toBeGreaterThanOrEqual(1);
		release();
		const late = (await Promise.all(carried)).flat();
		expect([...recorded, ...late].map((r) => [r.mid, r.kind]).sort()).toEqual([
			[1, "delivered"],
			[2, "delivered"],
		]);
		expect(recorded.map((r) => r.mid)).not.toContain(1);
	});
});
