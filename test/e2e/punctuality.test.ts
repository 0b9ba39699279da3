import { describe, expect, it } from "vitest";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import {
	byWebhookId,
	createWebhookTopic,
	describeMissing,
	publishBatch,
	quantile,
	rfc3339WithOffset,
	type Sundial,
	sleep,
} from "./lib.js";

/** Generous bound: this checks the scheduler is not grossly late, it is not the benchmark. */
const LATENESS_P99_MS = 250;

describe("punctuality (wrangler dev + real receiver)", () => {
	let sundial: Sundial;
	let receiver: Receiver;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
	});

	it("delivers 200 messages (delay, RFC 3339 +02:00, fractional unix seconds) once each, never early", async () => {
		const path = "/punctuality";
		await createWebhookTopic(sundial, "punctual", "hook", `${receiver.url}${path}`);

		const count = 200;
		const nowMs = Date.now();
		const items: Record<string, unknown>[] = [];
		/** Per item: the instant we asked for when we gave an absolute one (ms), else null. */
		const askedMs: (number | null)[] = [];
		for (let i = 0; i < count; i++) {
			const spreadMs = 1000 + Math.round((3000 * i) / (count - 1)); // 1 s … 4 s
			const id = `p-${String(i).padStart(3, "0")}`;
			switch (i % 5) {
				case 0: // RFC 3339 with a +02:00 offset and milliseconds
					askedMs.push(nowMs + spreadMs);
					items.push({ id, body: { i }, deliver_at: rfc3339WithOffset(nowMs + spreadMs, 120) });
					break;
				case 1: // unix seconds with a fractional part
					askedMs.push(nowMs + spreadMs);
					items.push({ id, body: { i }, deliver_at: (nowMs + spreadMs) / 1000 });
					break;
				case 2: // delay as fractional seconds
					askedMs.push(null);
					items.push({ id, body: { i }, delay: spreadMs / 1000 });
					break;
				default: // delay as a duration string
					askedMs.push(null);
					items.push({ id, body: { i }, delay: `${spreadMs}ms` });
			}
		}
		expect(items.some((m) => typeof m.deliver_at === "string" && m.deliver_at.endsWith("+02:00"))).toBe(true);
		expect(items.some((m) => typeof m.deliver_at === "number" && !Number.isInteger(m.deliver_at))).toBe(true);

		const results = await publishBatch(sundial, "punctual", items);
		const dueMs = new Map<string, number>();
		results.forEach((r, i) => {
			expect(r.id).toBe(items[i]?.id);
			expect(r.deliver_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
			const asked = askedMs[i];
			// An absolute instant comes back as the same instant, in UTC with milliseconds.
			if (asked !== null && asked !== undefined) expect(r.deliver_at).toBe(new Date(asked).toISOString());
			dueMs.set(r.id, Date.parse(r.deliver_at));
		});

		await receiver
			.waitFor((list) => byWebhookId(list.filter((r) => r.path === path)).size >= count, 15_000)
			.catch(async (error: unknown) => {
				throw new Error(`${error}\n${await describeMissing(sundial, "punctual", [...dueMs.keys()], receiver, path)}`);
			});
		await sleep(750); // let a late duplicate show up if there is one
		const got = byWebhookId(receiver.received.filter((r) => r.path === path));

		expect([...got.keys()].sort()).toEqual([...dueMs.keys()].sort());
		const repeated = [...got].filter(([, list]) => list.length !== 1).map(([id, list]) => `${id}×${list.length}`);
		expect(repeated, "each message exactly once").toEqual([]);

		const lateness: number[] = [];
		const early: string[] = [];
		for (const [id, [req]] of got) {
			if (!req) continue;
			const due = dueMs.get(id) as number;
			expect(req.headers["sundial-deliver-at"]).toBe(new Date(due).toISOString());
			expect(req.headers["sundial-attempt"]).toBe("1");
			const late = req.receivedAtMs - due;
			if (late < 0) early.push(`${id} ${late} ms`);
			lateness.push(late);
		}
		const p50 = quantile(lateness, 0.5);
		const p99 = quantile(lateness, 0.99);
		const max = Math.max(...lateness);
		console.log(
			`punctuality: ${lateness.length} messages, lateness p50=${p50} ms p99=${p99} ms max=${max} ms min=${Math.min(...lateness)} ms`,
		);
		expect(early, "none arrives before its deliver_at").toEqual([]);
		expect(p99).toBeLessThan(LATENESS_P99_MS);
	});

	it('delivers a single publish with delay "1500ms" at its due time', async () => {
		const path = "/single";
		await createWebhookTopic(sundial, "punctual-single", "hook", `${receiver.url}${path}`);
		const res = await sundial.api<{ id: string; deliver_at: string }>("POST", "/v1/topics/punctual-single/messages", {
			body: { hello: "world" },
			delay: "1500ms",
		});
		expect(res.status).toBe(201);
		const dueMs = Date.parse(res.body.deliver_at);
		// The due time is about 1.5 s after the request (the Worker's clock is this machine's).
		expect(dueMs - Date.now()).toBeGreaterThan(1000);
		expect(dueMs - Date.now()).toBeLessThanOrEqual(1500);

		await receiver.waitFor((list) => list.some((r) => r.path === path), 10_000);
		await sleep(300);
		const got = receiver.received.filter((r) => r.path === path);
		expect(got).toHaveLength(1);
		const [req] = got;
		expect(req?.headers["webhook-id"]).toBe(res.body.id);
		expect(req?.body).toBe('{"hello":"world"}');
		const late = (req?.receivedAtMs ?? 0) - dueMs;
		console.log(`punctuality: single "1500ms" publish arrived ${late} ms after its deliver_at`);
		expect(late).toBeGreaterThanOrEqual(0);
		expect(late).toBeLessThan(LATENESS_P99_MS);
	});
});
