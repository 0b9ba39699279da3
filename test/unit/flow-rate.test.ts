import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { STARTED_IN_FLIGHT } from "../../src/topic/rate-window";
import type { AttemptRecord, ClaimedDelivery } from "../../src/topic/store";
import { behave, json, type Received, received, receiverUrl, uniqueName } from "../helpers";
import { waitForReceived } from "../lifecycle";

/** `rate`: at most `limit` attempts start in any window of `period` (cases found by review). */

/** A topic whose subscription may start `limit` attempts per second, with `n` messages due now; returns the receiver path. */
async function rateLimited(limit: number, n: number): Promise<string> {
	const path = `/flow-rate/${uniqueName("r")}`;
	await behave(path, { status: 200 });
	const topic = uniqueName("frate");
	expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
	const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
		type: "webhook",
		url: `${receiverUrl()}${path}`,
		rate: { limit, period: "1s" },
	});
	expect(sub.status).toBe(201);
	const items = Array.from({ length: n }, (_, i) => ({ id: `m-${i}`, body: i }));
	expect((await json("POST", `/v1/topics/${topic}/messages/batch`, items)).status).toBe(200);
	return path;
}

describe("rate window", () => {
	it("limit 1 per 1s: consecutive attempt starts are at least 1 s apart", async () => {
		const path = await rateLimited(1, 4);
		const got = (await waitForReceived(path, 4, 10_000)).sort((a, b) => a.receivedAtMs - b.receivedAtMs);
		const gaps = got.slice(1).map((r, i) => r.receivedAtMs - (got[i] as Received).receivedAtMs);
		// Arrival times at a local receiver: a few ms of jitter at most.
		expect(Math.min(...gaps), `gaps ${gaps.join(", ")} ms`).toBeGreaterThanOrEqual(995);
	});

	it("limit 5 per 1s, a burst of 10: never more than 5 starts within any 1 s window", async () => {
		const path = await rateLimited(5, 10);
		const got = (await waitForReceived(path, 10, 10_000)).map((r) => r.receivedAtMs).sort((a, b) => a - b);
		// Windows of the whole period, measured at the receiver.
		const most = Math.max(...got.map((t) => got.filter((o) => o >= t && o < t + 1000).length));
		expect(most, `arrivals at +${got.map((t) => t - (got[0] as number)).join(", +")} ms`).toBeLessThanOrEqual(5);
	});
});

/** What the tests below reach inside a partition object. */
interface FlowInternals {
	flow: {
		claim(nowMs: number, aheadMs: number, limit: number, lease: (sid: number) => number): ClaimedDelivery[];
		settle(records: AttemptRecord[], nowMs: number): void;
	};
}

/**
 * A topic whose subscription may start 1 attempt per second, answered as `reply` says, with one
 * message "lost" claimed by hand under a 200 ms lease whose record never comes (its transaction
 * failed); the alarm wakes after that lease ended. Returns the receiver path and the lost claim.
 */
async function lostClaim(reply: { status: number; delayMs?: number }) {
	const topic = uniqueName("flost");
	const path = `/flow-rate/${topic}`;
	await behave(path, reply);
	expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
	const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
		type: "webhook",
		url: `${receiverUrl()}${path}`,
		rate: { limit: 1, period: "1s" },
	});
	expect(sub.status).toBe(201);
	const stub = env.TOPIC.getByName(`${topic}#0`);
	const claimed = await runInDurableObject(stub, async (instance, state) => {
		// Published and claimed in one call: the platform's alarm cannot run between.
		const message = { id: "lost", body: "1", contentType: "application/json", headers: {}, requestId: null };
		await instance.publish({ partitions: 1 }, [{ ...message, deliverAtMs: Date.now() }]);
		const nowMs = Date.now();
		const flow = (instance as unknown as FlowInternals).flow;
		const rows = state.storage.transactionSync(() => flow.claim(nowMs, 0, 10, () => nowMs + 200));
		await state.storage.setAlarm(nowMs + 300);
		return rows;
	});
	expect(claimed).toHaveLength(1);
	return { topic, path, stub, claim: claimed[0] as ClaimedDelivery };
}

async function waitForArrival(path: string): Promise<Received[]> {
	const deadline = Date.now() + 5_000;
	let got = await received(path);
	while (got.length === 0 && Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, 50));
		got = await received(path);
	}
	return got;
}

describe("rate window after a lost outcome", () => {
	// Its lease ends, and its start must stop counting as in flight, or a limit of 1 would hold the
	// subscription until the object restarts.
	it("a lease that ends without an outcome dates its start: the subscription goes on", async () => {
		const { topic, path } = await lostClaim({ status: 200 });
		const got = await waitForArrival(path);
		expect(got.map((r) => r.headers["webhook-id"])).toEqual(["lost"]);
		const view = await json<{ counts: Record<string, number> }>("GET", `/v1/topics/${topic}/subscriptions/hook`);
		expect(view.body.counts).toMatchObject({ delivered: 1, in_flight: 0, scheduled: 0 });
	});

	// The lost attempt's record turns up after its lease ended and its retry started: it must not
	// date the retry's start (still in flight), which would then count from before its answer.
	it("a record that comes after its lease ended dates no other attempt's start", async () => {
		const { path, stub, claim } = await lostClaim({ status: 200, delayMs: 5_000 });
		const retry = await waitForArrival(path);
		expect(retry).toHaveLength(1);
		const inFlightStarts = await runInDurableObject(stub, (instance, state) => {
			const count = () =>
				state.storage.sql
					.exec<{ n: number }>("SELECT COUNT(*) AS n FROM rate_starts WHERE at_ms = ?", STARTED_IN_FLIGHT)
					.one().n;
			const before = count();
			const late: AttemptRecord = {
				kind: "delivered",
				mid: claim.mid,
				sid: claim.sid,
				lease: claim.lease,
				messageId: "lost",
				attempt: 1,
				status: 200,
				atMs: Date.now(),
			};
			state.storage.transactionSync(() => (instance as unknown as FlowInternals).flow.settle([late], Date.now()));
			return { before, after: count() };
		});
		expect(inFlightStarts).toEqual({ before: 1, after: 1 });
	});
});
