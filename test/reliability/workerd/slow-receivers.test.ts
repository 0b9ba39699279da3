import { describe, expect, it } from "vitest";
import { fetchAttempt } from "../../../src/delivery/attempt-fetch";
import { behave, json, receiverUrl, uniqueName } from "../../helpers";
import { waitFor, waitForReceived } from "../../lifecycle";

/**
 * Slow receivers (issue 14, reliability suite): answers that trickle their body a byte at a time,
 * that send headers and then nothing, or nothing at all. Each attempt ends at its subscription's
 * timeout (which covers reading the body), the connection is closed, no timer outlives it, and the
 * topic's other subscriptions deliver on time meanwhile (flow.ts isolation). The outcome is the
 * status, when one came: a 2xx whose body never ends was still accepted by its receiver.
 */

type Counts = { scheduled: number; in_flight: number; delivered: number; dead: number };

/** Requests open at the receiver right now (any path). */
async function openAtReceiver(): Promise<number> {
	const res = await fetch(`${receiverUrl()}/_control/stats`);
	return ((await res.json()) as { active: number }).active;
}

describe("slow receivers", () => {
	it("trickling, endless and silent answers end at the timeout; a healthy neighbour delivers on time", async () => {
		const id = uniqueName("slow");
		const paths = {
			trickle: `/slow/${id}/trickle`, // 200 and headers, then a byte every 100 ms, forever
			endless: `/slow/${id}/endless`, // 503 and headers, then nothing, never ending
			silent: `/slow/${id}/silent`, // nothing at all
			healthy: `/slow/${id}/healthy`,
		};
		await behave(paths.trickle, { status: 200, trickleMs: 100 });
		await behave(paths.endless, { status: 503, trickleMs: 600_000 });
		await behave(paths.silent, { status: 200, delayMs: 600_000 });
		await behave(paths.healthy, { status: 200 });
		const topic = id;
		expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
		for (const [name, path] of Object.entries(paths)) {
			const slow = name !== "healthy";
			const res = await json("PUT", `/v1/topics/${topic}/subscriptions/${name}`, {
				type: "webhook",
				url: `${receiverUrl()}${path}`,
				...(slow ? { timeout: "3s", retry: { max_attempts: 1 } } : {}),
			});
			expect(res.status, JSON.stringify(res.body)).toBe(201);
		}
		// A steady stream: 12 messages, one every 150 ms; every subscription gets each.
		const firstMs = Date.now() + 500;
		const dues = Array.from({ length: 12 }, (_, i) => firstMs + i * 150);
		const published = await json(
			"POST",
			`/v1/topics/${topic}/messages/batch`,
			dues.map((at, i) => ({ id: `m-${i}`, body: { i }, deliver_at: new Date(at).toISOString() })),
		);
		expect(published.status, JSON.stringify(published.body)).toBe(200);

		// Three subscriptions hang at once: each holds one slot (⌊6 / 4⌋) while all four have work, so
		// the healthy one never waits for them and delivers on time (a generous bound: a busy test
		// machine). The suite's alarm runs are 5 attempts long, so hanging attempts are carried past
		// the runs that started them all along.
		const got = await waitForReceived(paths.healthy, 12, 10_000);
		const lateness = got.map((r) => r.receivedAtMs - (dues[(JSON.parse(r.body) as { i: number }).i] as number));
		expect(Math.max(...lateness)).toBeLessThan(500);

		// Every slow attempt ends at the timeout; the outcome is the status if one came (the trickling
		// 200 was accepted; the endless 503 failed), else "no response". None is left in flight.
		const expected = {
			trickle: { counts: { delivered: 12, dead: 0 }, error: null },
			endless: { counts: { delivered: 0, dead: 12 }, error: "HTTP 503" },
			silent: { counts: { delivered: 0, dead: 12 }, error: "no response within 3000 ms" },
		};
		for (const [name, want] of Object.entries(expected)) {
			const counts = await waitFor(
				`${name}: every delivery ended`,
				async () => {
					const sub = await json<{ counts: Counts }>("GET", `/v1/topics/${topic}/subscriptions/${name}`);
					const c = sub.body.counts;
					return c.delivered + c.dead === 12 ? c : undefined;
				},
				// Each holds one slot of 6 while the others have work (one in reserve for the idle
				// healthy one): 12 attempts of 3 s one after another.
				60_000,
			);
			expect(counts, name).toEqual({ scheduled: 0, in_flight: 0, ...want.counts });
			if (want.error === null) continue;
			const dead = await json<{ dead: { last_error: string | null }[] }>(
				"GET",
				`/v1/topics/${topic}/subscriptions/${name}/dead?limit=12`,
			);
			expect(dead.body.dead).toHaveLength(12);
			for (const item of dead.body.dead) expect(item.last_error).toBe(want.error);
		}
		// Every connection Sundial opened to the slow receivers was closed when its attempt ended.
		await waitFor("the receiver's connections closed", async () => ((await openAtReceiver()) === 0 ? true : undefined));
	}, 120_000);

	it("no timer outlives its attempt, whatever the answer", async () => {
		const id = uniqueName("timers");
		await behave(`/slow/${id}/trickle`, { status: 200, trickleMs: 50 });
		await behave(`/slow/${id}/endless`, { status: 200, trickleMs: 600_000 });
		await behave(`/slow/${id}/silent`, { status: 200, delayMs: 600_000 });
		await behave(`/slow/${id}/fast`, { status: 200 });
		// Timers of the attempt's timeout (an unusual length, so others are not counted).
		const TIMEOUT_MS = 437;
		const live = new Set<unknown>();
		const realSet = globalThis.setTimeout;
		const realClear = globalThis.clearTimeout;
		globalThis.setTimeout = ((fn: () => void, ms?: number) => {
			const handle = realSet(() => {
				live.delete(handle);
				fn();
			}, ms);
			if (ms === TIMEOUT_MS) live.add(handle);
			return handle;
		}) as typeof setTimeout;
		globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
			live.delete(handle);
			realClear(handle);
		}) as typeof clearTimeout;
		try {
			const startedMs = Date.now();
			const outcomes = await Promise.all(
				["trickle", "endless", "silent", "fast", "trickle", "fast"].map((name) =>
					fetchAttempt(`${receiverUrl()}/slow/${id}/${name}`, { method: "POST", body: "{}" }, TIMEOUT_MS),
				),
			);
			// Cut at the timeout: the status of those that sent one, without their endless bodies.
			expect(Date.now() - startedMs).toBeLessThan(TIMEOUT_MS + 1000);
			expect(outcomes.map((o) => (o.kind === "response" ? [o.status, o.body === null] : o.error))).toEqual([
				[200, true],
				[200, true],
				`no response within ${TIMEOUT_MS} ms`,
				[200, false],
				[200, true],
				[200, false],
			]);
			expect(live.size).toBe(0);
		} finally {
			globalThis.setTimeout = realSet;
			globalThis.clearTimeout = realClear;
		}
	});
});
