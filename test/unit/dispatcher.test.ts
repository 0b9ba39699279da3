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

/**
 * A stand-in store: transactions run inline, recorded attempts go to `recorded`, no lease expires,
 * and `claimDue` / `nextPendingAtMs` are the test's.
 */
function standInStore(
	recorded: AttemptRecord[],
	claimDue: (dueBy: number) => ClaimedDelivery[],
	nextPendingAtMs: () => number | null,
): TopicStore {
	return {
		transaction: <T>(fn: () => T) => fn(),
		recordAttempts: (records: readonly AttemptRecord[]) => {
			recorded.push(...records);
			return records.length;
		},
		expireLeases: () => 0,
		claimDue,
		nextPendingAtMs,
	} as unknown as TopicStore;
}

describe("dispatchDue (with a stand-in store)", () => {
	// Deliveries are claimed up to CLAIM_AHEAD_MS before they are due, then wait in memory.
	it("claims ahead of the due time but sends at the due time, never before", async () => {
		const dueAtMs = Date.now() + CLAIM_AHEAD_MS - 1;
		let claims = 0;
		const recorded: AttemptRecord[] = [];
		const store = standInStore(
			recorded,
			(dueBy) => (++claims === 1 && dueBy >= dueAtMs ? [claimed(1, dueAtMs)] : []),
			() => null,
		);
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
		// Two claims of one delivery each, both due now.
		const store = standInStore(
			recorded,
			() => (++claims <= 2 ? [claimed(claims, Date.now())] : []),
			() => (claims < 2 ? Date.now() : null),
		);
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

	it("ends a run only after a refill under way: what it claimed goes out before the end, each outcome recorded once", async () => {
		const recorded: AttemptRecord[] = [];
		let claims = 0;
		// First claim: delivery 1 (its receiver hangs); second: deliveries 2 and 3, the run's last.
		const store = standInStore(
			recorded,
			() => {
				claims++;
				if (claims === 1) return [claimed(1, Date.now())];
				if (claims === 2) return [2, 3].map((mid) => ({ ...claimed(mid, Date.now()), sid: mid }));
				return [];
			},
			() => (claims < 2 ? Date.now() : null),
		);
		let release: () => void = () => {};
		const hanging = new Promise<void>((resolve) => (release = resolve));
		const subs = new Map([1, 2, 3].map((sid) => [sid, { ...queueSub(), sid }]));
		const sent: string[] = [];
		const binding = {
			send: async () => {},
			sendBatch: async (messages: unknown) => {
				const id = JSON.stringify(messages).match(/"(m\d+)"/)?.[1] as string;
				sent.push(id);
				if (id === "m1") await hanging;
			},
		};
		const carried: Promise<AttemptRecord[]>[] = [];
		let wakeCalls = 0;
		await dispatchDue({
			store,
			topicName: "t",
			subscriptions: () => subs,
			bindings: { Q: binding },
			maxDeliveries: 3,
			qstashKey: null,
			// The second claim's wake-up is slow: the run's limit is reached while that refill is under way.
			wakeBy: async () => {
				if (++wakeCalls === 2) await new Promise((r) => setTimeout(r, 50));
			},
			carry: (attempt) => carried.push(attempt),
		});
		// Every claimed delivery was sent before the run ended; the hanging one was carried, and
		// each outcome is recorded once, by the run or by its carrier.
		expect(sent.sort()).toEqual(["m1", "m2", "m3"]);
		release();
		const late = (await Promise.all(carried)).flat();
		expect(late.map((r) => r.mid)).toContain(1);
		expect([...recorded, ...late].map((r) => r.mid).sort()).toEqual([1, 2, 3]);
	});

	it("counts carried attempts of earlier runs against the 6 request slots", async () => {
		let claims = 0;
		// Ten deliveries of ten subscriptions (one request each), all due now.
		const store = standInStore(
			[],
			() =>
				++claims === 1 ? Array.from({ length: 10 }, (_, i) => ({ ...claimed(i + 1, Date.now()), sid: i + 1 })) : [],
			() => null,
		);
		const subs = new Map(Array.from({ length: 10 }, (_, i) => [i + 1, { ...queueSub(), sid: i + 1 }]));
		let open = 0;
		let most = 0;
		const binding = {
			send: async () => {},
			sendBatch: async () => {
				most = Math.max(most, ++open);
				await new Promise((r) => setTimeout(r, 20));
				open--;
			},
		};
		const attempts = await dispatchDue({
			store,
			topicName: "t",
			subscriptions: () => subs,
			bindings: { Q: binding },
			maxDeliveries: 100,
			qstashKey: null,
			wakeBy: async () => {},
			carry: () => {},
			carriedInFlight: () => 4,
		});
		expect(attempts).toBe(10);
		expect(most).toBe(2);
	});
});
