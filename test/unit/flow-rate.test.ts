import { describe, expect, it } from "vitest";
import { behave, json, type Received, receiverUrl, uniqueName } from "../helpers";
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
