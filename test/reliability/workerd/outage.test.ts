import { describe, expect, it } from "vitest";
import { behave, json, type Received, received, receiverUrl, uniqueName } from "../../helpers";
import { waitFor } from "../../lifecycle";

/**
 * A long consumer outage (issue 14, reliability suite), time-compressed through the retry policy: the
 * receiver answers 503 for longer than a delivery's whole retry schedule, then comes back. Every
 * message ends delivered or dead, none is lost, and the dead ones are redriven to delivered.
 */

type Counts = { scheduled: number; in_flight: number; delivered: number; dead: number };

const PARTITIONS = 4;
/** Messages due at once when the outage starts (they run out of attempts during it). */
const EARLY = 500;
/** Messages due over the outage and after it (some fail first, then get through). */
const SPREAD = 500;
/** The shortest outage: longer than a delivery's whole retry schedule (about 2.5 s). */
const OUTAGE_MS = 5000;

/** The message a request carries (each body names its id). */
const idOf = (r: Received) => (JSON.parse(r.body) as { id: string }).id;

describe("a long consumer outage", () => {
	it("every message ends delivered or dead, none is lost, and the dead are redriven", async () => {
		const topic = uniqueName("outage");
		const path = `/outage/${topic}`;
		await behave(path, { status: 503 });
		expect((await json("PUT", `/v1/topics/${topic}`, { partitions: PARTITIONS })).status).toBe(201);
		const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			// 6 attempts over about 2.5 s: the outage outlasts a whole schedule.
			retry: { max_attempts: 6, backoff: "exponential", base: "100ms", max: "1s", jitter: false },
		});
		expect(sub.status, JSON.stringify(sub.body)).toBe(201);
		const startMs = Date.now();
		const messages = [
			...Array.from({ length: EARLY }, (_, i) => ({ id: `early-${i}`, body: { id: `early-${i}` } })),
			...Array.from({ length: SPREAD }, (_, i) => ({
				id: `spread-${i}`,
				body: { id: `spread-${i}` },
				deliver_at: new Date(startMs + 1000 + Math.round((i * (OUTAGE_MS + 2000)) / SPREAD)).toISOString(),
			})),
		];
		const ids = messages.map((m) => m.id);
		for (let i = 0; i < messages.length; i += 500) {
			const res = await json("POST", `/v1/topics/${topic}/messages/batch`, messages.slice(i, i + 500));
			expect(res.status, JSON.stringify(res.body)).toBe(200);
		}
		const countsNow = async () =>
			(await json<{ counts: Counts }>("GET", `/v1/topics/${topic}/subscriptions/hook`)).body.counts;
		// The consumer comes back after the outage: OUTAGE_MS, and at least until as many deliveries as
		// were due at its start ran out of attempts (on a loaded machine that takes longer).
		await new Promise((r) => setTimeout(r, Math.max(0, startMs + OUTAGE_MS - Date.now())));
		await waitFor(
			"the early deliveries' attempts used up",
			async () => ((await countsNow()).dead >= EARLY ? true : undefined),
			60_000,
		);
		// Taken before the switch: every 2xx answer is to a request received from then on.
		const backMs = Date.now();
		await behave(path, { status: 200 });

		const settled = await waitFor(
			"every delivery delivered or dead",
			async () => {
				const c = await countsNow();
				return c.scheduled === 0 && c.in_flight === 0 ? c : undefined;
			},
			60_000,
		);
		expect(settled.delivered + settled.dead).toBe(ids.length);
		// Messages due after the outage got through.
		expect(settled.dead).toBeGreaterThanOrEqual(EARLY);
		expect(settled.delivered).toBeGreaterThan(0);

		// The dead, read page by page, are exactly the messages not delivered: none is missing.
		const dead: string[] = [];
		let cursor: string | null = null;
		do {
			const page: { status: number; body: { dead: { message_id: string }[]; next_cursor: string | null } } = await json(
				"GET",
				`/v1/topics/${topic}/subscriptions/hook/dead?limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
			);
			expect(page.status).toBe(200);
			dead.push(...page.body.dead.map((d) => d.message_id));
			cursor = page.body.next_cursor;
		} while (cursor);
		expect(new Set(dead).size).toBe(settled.dead);

		const redrive = await json<{ redriven: number; pending: number }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/hook/dead/redrive`,
			{},
		);
		expect(redrive.status).toBe(200);
		expect(redrive.body.redriven + redrive.body.pending).toBe(settled.dead);
		const final = await waitFor(
			"every message delivered after the redrive",
			async () => {
				const c = await countsNow();
				return c.delivered === ids.length ? c : undefined;
			},
			60_000,
		);
		expect(final).toEqual({ scheduled: 0, in_flight: 0, delivered: ids.length, dead: 0 });
		// The receiver got every message after it came back (a 2xx is only answered from then on).
		const after = new Set((await received(path)).filter((r) => r.receivedAtMs >= backMs).map(idOf));
		expect(ids.filter((id) => !after.has(id))).toEqual([]);
		const attempts = (await received(path)).length;
		console.log(
			`outage: ${ids.length} messages over ${PARTITIONS} partitions, ${backMs - startMs} ms of 503s; ` +
				`${settled.delivered} delivered and ${settled.dead} dead when it ended, ${attempts} requests in all; ` +
				`all ${ids.length} delivered ${Date.now() - backMs} ms after the consumer came back, redrive included`,
		);
	}, 180_000);
});
