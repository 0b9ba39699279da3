import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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

describe("rate window after a lost outcome", () => {
	// An attempt claimed whose outcome is never recorded (its transaction failed, its instance went
	// away without a restart of this one): its lease ends, and its start must stop counting as in
	// flight, or a limit of 1 would hold the subscription until the object restarts.
	it("a lease that ends without an outcome dates its start: the subscription goes on", async () => {
		const topic = uniqueName("flost");
		const path = `/flow-rate/${topic}`;
		await behave(path, { status: 200 });
		expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
		const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			rate: { limit: 1, period: "1s" },
		});
		expect(sub.status).toBe(201);
		const stub = env.TOPIC.getByName(`${topic}#0`);
		const claimed = await runInDurableObject(stub, async (instance, state) => {
			// Published, parked, and claimed by hand in one call: the platform's alarm cannot run between.
			const internals = instance as unknown as {
				flow: { claim(nowMs: number, aheadMs: number, limit: number, lease: (sid: number) => number): unknown[] };
			};
			await instance.publish({ partitions: 1 }, [
				{
					id: "lost",
					body: "1",
					contentType: "application/json",
					headers: {},
					requestId: null,
					deliverAtMs: Date.now(),
				},
			]);
			const nowMs = Date.now();
			const rows = state.storage.transactionSync(() => internals.flow.claim(nowMs, 0, 10, () => nowMs + 200));
			// The alarm wakes after the lease ended: the attempt's record never comes.
			await state.storage.setAlarm(nowMs + 300);
			return rows.length;
		});
		expect(claimed).toBe(1);
		const deadline = Date.now() + 5_000;
		let got = await received(path);
		while (got.length === 0 && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 50));
			got = await received(path);
		}
		expect(got.map((r) => r.headers["webhook-id"])).toEqual(["lost"]);
		const view = await json<{ counts: Record<string, number> }>("GET", `/v1/topics/${topic}/subscriptions/hook`);
		expect(view.body.counts).toMatchObject({ delivered: 1, in_flight: 0, scheduled: 0 });
	});
});
