import { describe, expect, it } from "vitest";
import { api, behave, json, type Received, received, receiverUrl, uniqueName } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";

/** Flow control (README "Flow control"): isolation between subscriptions, parallelism and rate limits. */

type Sub = {
	rate: { limit: number; period_ms: number } | null;
	parallelism: number | null;
	held_back: { isolation: number; parallelism: number; rate: number };
};

async function topicWith(subs: Record<string, Record<string, unknown>>, partitions = 1): Promise<string> {
	const topic = uniqueName("flow");
	expect((await json("PUT", `/v1/topics/${topic}`, { partitions })).status).toBe(201);
	for (const [name, body] of Object.entries(subs)) {
		const res = await json("PUT", `/v1/topics/${topic}/subscriptions/${name}`, body);
		expect(res.status, JSON.stringify(res.body)).toBe(201);
	}
	return topic;
}

async function publishNow(topic: string, n: number, prefix = "m"): Promise<void> {
	const messages = Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, body: { i } }));
	const res = await json("POST", `/v1/topics/${topic}/messages/batch`, messages);
	expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** The most requests of `got` open at once, each open for `holdMs` after it arrived. */
function mostOpen(got: Received[], holdMs: number): number {
	return Math.max(
		...got.map(
			(r) => got.filter((o) => o.receivedAtMs <= r.receivedAtMs && o.receivedAtMs + holdMs > r.receivedAtMs).length,
		),
	);
}

describe("flow control: subscription limits", () => {
	it("refuses bad limits with 400 and shows the ones set", async () => {
		const topic = await topicWith({}, 4);
		const url = `${receiverUrl()}/flow/never`;
		for (const [body, path] of [
			[{ type: "webhook", url, parallelism: 0 }, "parallelism"],
			[{ type: "webhook", url, parallelism: 1001 }, "parallelism"],
			[{ type: "webhook", url, rate: { limit: 0 } }, "rate.limit"],
			[{ type: "webhook", url, rate: { limit: 10, period: "2h" } }, "rate.period"],
			[{ type: "webhook", url, rate: { limit: 10, burst: 2 } }, "rate"],
			[{ type: "pull", parallelism: 4 }, "parallelism"],
			[{ type: "pull", rate: { limit: 10 } }, "rate"],
			// Split over 4 partitions, each needs a share of at least 1.
			[{ type: "webhook", url, parallelism: 3 }, "parallelism"],
			[{ type: "webhook", url, rate: { limit: 2, period: "1m" } }, "rate.limit"],
		] as const) {
			const res = await json<{ error: { code: string; issues?: { path: string }[] } }>(
				"PUT",
				`/v1/topics/${topic}/subscriptions/s`,
				body,
			);
			expect(res.status, JSON.stringify(body)).toBe(400);
			expect(res.body.error.code).toBe("invalid_request");
			expect(res.body.error.issues?.map((i) => i.path).join(",")).toContain(path);
		}
		expect((await api("GET", `/v1/topics/${topic}/subscriptions/s`)).status).toBe(404);
		const ok = await json<Sub>("PUT", `/v1/topics/${topic}/subscriptions/s`, {
			type: "webhook",
			url,
			parallelism: 8,
			rate: { limit: 100, period: "1m" },
		});
		expect(ok.status).toBe(201);
		expect(ok.body).toMatchObject({
			rate: { limit: 100, period_ms: 60_000 },
			parallelism: 8,
			held_back: { isolation: 0, parallelism: 0, rate: 0 },
		});
	});

	it("parallelism: never more attempts in flight than allowed; the rest wait, counted as held back, and all arrive", async () => {
		const path = `/flow/par/${uniqueName("p")}`;
		await behave(path, { status: 200, delayMs: 300 });
		const topic = await topicWith({ hook: { type: "webhook", url: `${receiverUrl()}${path}`, parallelism: 2 } });
		await publishNow(topic, 8);
		const held = await waitFor("deliveries held back", async () => {
			const sub = await json<Sub>("GET", `/v1/topics/${topic}/subscriptions/hook`);
			return sub.body.held_back.parallelism > 0 ? sub.body.held_back : undefined;
		});
		expect(held.parallelism).toBeLessThanOrEqual(6);
		const got = await waitForReceived(path, 8, 10_000);
		expect(mostOpen(got, 300)).toBe(2);
	});

	it("rate: at most `limit` attempts start in any window of `period`; held ones follow in due order", async () => {
		const path = `/flow/rate/${uniqueName("r")}`;
		await behave(path, { status: 200 });
		const topic = await topicWith({
			hook: { type: "webhook", url: `${receiverUrl()}${path}`, rate: { limit: 3, period: "1s" } },
		});
		await publishNow(topic, 9);
		const got = (await waitForReceived(path, 9, 10_000)).sort((a, b) => a.receivedAtMs - b.receivedAtMs);
		// 9 at 3 per second: the last starts at least two windows after the first.
		expect((got[8] as Received).receivedAtMs - (got[0] as Received).receivedAtMs).toBeGreaterThanOrEqual(1900);
		// Any window of the period, measured at the receiver (flow.ts counts a little further back for that).
		expect(mostOpen(got, 1000)).toBeLessThanOrEqual(3);
		const sub = await json<Sub>("GET", `/v1/topics/${topic}/subscriptions/hook`);
		expect(sub.body.held_back.rate).toBe(0);
	});
});

/** A topic with a subscription whose receiver answers after 3 s (timeout 5 s) and one answered at once. */
async function slowBesideFast(): Promise<{ slow: string; fast: string; topic: string }> {
	const slow = `/flow/slow/${uniqueName("s")}`;
	const fast = `/flow/fast/${uniqueName("f")}`;
	await behave(slow, { status: 200, delayMs: 3000 });
	await behave(fast, { status: 200 });
	const topic = await topicWith({
		aslow: { type: "webhook", url: `${receiverUrl()}${slow}`, timeout: "5s" },
		bfast: { type: "webhook", url: `${receiverUrl()}${fast}` },
	});
	return { slow, fast, topic };
}

describe("flow control: isolation between subscriptions", () => {
	it("a subscription whose receiver hangs holds at most 5 of the 6 slots; its neighbour's deliveries go out on time", async () => {
		const { slow, fast, topic } = await slowBesideFast();
		const startMs = Date.now();
		await publishNow(topic, 12, "a");
		const firstWave = await waitForReceived(fast, 12, 2500);
		expect(Math.max(...firstWave.map((r) => r.receivedAtMs)) - startMs).toBeLessThan(2000);
		// While the slow receiver still holds its requests, more work for the fast one goes out at once.
		const secondMs = Date.now();
		await publishNow(topic, 3, "b");
		const all = await waitForReceived(fast, 15, 2000);
		const second = all.filter((r) => r.receivedAtMs >= secondMs);
		expect(second).toHaveLength(3);
		expect(Math.max(...second.map((r) => r.receivedAtMs)) - secondMs).toBeLessThan(1000);
		const slowGot = await received(slow);
		expect(slowGot.filter((r) => r.receivedAtMs < startMs + 2900).length).toBeLessThanOrEqual(5);
		expect(slowGot.length).toBeGreaterThan(0);
	});

	it("beside a neighbour that has work, a subscription whose receiver hangs holds only an even share (3 of 6)", async () => {
		const { slow, fast, topic } = await slowBesideFast();
		// A steady stream: 20 messages, one every 100 ms (both subscriptions get each).
		const firstMs = Date.now() + 500;
		const dues = Array.from({ length: 20 }, (_, i) => firstMs + i * 100);
		const res = await json(
			"POST",
			`/v1/topics/${topic}/messages/batch`,
			dues.map((at, i) => ({ id: `m-${i}`, body: { i }, deliver_at: new Date(at).toISOString() })),
		);
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		const got = await waitForReceived(fast, 20, 10_000);
		const lastDueMs = dues[dues.length - 1] as number;
		// While the stream lasts, the hanging subscription never has more than 3 requests out.
		const slowGot = await received(slow);
		expect(slowGot.filter((r) => r.receivedAtMs < lastDueMs).length).toBe(3);
		// And the stream goes out on time (a generous bound: this is a busy test machine, not a bench).
		const lateness = got.map((r) => r.receivedAtMs - (dues[(JSON.parse(r.body) as { i: number }).i] as number));
		expect(Math.max(...lateness)).toBeLessThan(500);
	});
});
