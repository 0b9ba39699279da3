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
});
