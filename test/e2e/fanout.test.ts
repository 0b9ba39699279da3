import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import {
	addWebhook,
	byWebhookId,
	createWebhookTopic,
	describeMissing,
	publishBatch,
	type Sundial,
	sleep,
} from "./lib.js";

const TOPIC = "fanout";
const PATH_A = "/fanout/a";
const PATH_B = "/fanout/b";

describe("fan-out to two webhook subscriptions (wrangler dev + real receiver)", () => {
	let sundial: Sundial;
	let receiver: Receiver;
	let secretA: string;
	let secretB: string;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
		secretA = await createWebhookTopic(sundial, TOPIC, "sub-a", `${receiver.url}${PATH_A}`);
		secretB = await addWebhook(sundial, TOPIC, "sub-b", `${receiver.url}${PATH_B}`);
	});

	const waitForAll = async (ids: readonly string[], timeoutMs: number) => {
		const done = () =>
			[PATH_A, PATH_B].every((p) => {
				const got = byWebhookId(receiver.received.filter((r) => r.path === p));
				return ids.every((id) => got.has(id));
			});
		await receiver.waitFor(done, timeoutMs).catch(async (error: unknown) => {
			const a = await describeMissing(sundial, TOPIC, ids, receiver, PATH_A);
			const b = await describeMissing(sundial, TOPIC, ids, receiver, PATH_B);
			throw new Error(`${error}\n${PATH_A}: ${a}\n${PATH_B}: ${b}`);
		});
	};

	it("gives each subscription its own secret, every message to both, each signed with its own secret", async () => {
		expect(secretA).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
		expect(secretB).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
		expect(secretA).not.toBe(secretB);

		const items = Array.from({ length: 20 }, (_, i) => ({
			id: `fan-${String(i).padStart(2, "0")}`,
			body: { n: i, text: `message ${i} ☀` },
		}));
		const results = await publishBatch(sundial, TOPIC, items);
		const ids = results.map((r) => r.id);
		expect(ids).toEqual(items.map((m) => m.id));

		await waitForAll(ids, 15_000);
		await sleep(300); // a duplicate would show up now

		const wrong = { [PATH_A]: new Webhook(secretB), [PATH_B]: new Webhook(secretA) };
		const right = { [PATH_A]: new Webhook(secretA), [PATH_B]: new Webhook(secretB) };
		for (const [path, subscription] of [
			[PATH_A, "sub-a"],
			[PATH_B, "sub-b"],
		] as const) {
			const got = receiver.received.filter((r) => r.path === path);
			expect(got, `${path} gets each message exactly once`).toHaveLength(20);
			expect([...byWebhookId(got).keys()].sort()).toEqual([...ids].sort());
			for (const req of got) {
				const id = req.headers["webhook-id"] as string;
				const n = Number(id.slice(4));
				expect(req.method).toBe("POST");
				expect(req.headers["sundial-topic"]).toBe(TOPIC);
				expect(req.headers["sundial-subscription"]).toBe(subscription);
				expect(req.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
				expect(req.body).toBe(JSON.stringify({ n, text: `message ${n} ☀` }));
				// Its own secret verifies (and returns the parsed body); the other subscription's does not.
				expect(right[path].verify(req.body, req.headers)).toEqual({ n, text: `message ${n} ☀` });
				expect(() => wrong[path].verify(req.body, req.headers)).toThrow();
				// A tampered body fails too.
				expect(() => right[path].verify(`${req.body} `, req.headers)).toThrow();
			}
		}
	});

	it("never has more than 6 requests open at the receiver when it answers slowly", async () => {
		await receiver.waitFor(() => receiver.active === 0, 5_000);
		receiver.clear();
		receiver.behaviour(PATH_A, { status: 200, delayMs: 200 });
		receiver.behaviour(PATH_B, { status: 200, delayMs: 200 });

		const items = Array.from({ length: 30 }, (_, i) => ({ id: `slow-${String(i).padStart(2, "0")}`, body: { i } }));
		const startedMs = Date.now();
		const ids = (await publishBatch(sundial, TOPIC, items)).map((r) => r.id);

		// 30 messages × 2 subscriptions = 60 deliveries of 200 ms each, from one topic object.
		await waitForAll(ids, 30_000);
		const elapsedMs = Date.now() - startedMs;
		await sleep(300);
		console.log(
			`fanout: 60 slow deliveries in ${elapsedMs} ms, receiver.maxConcurrent=${receiver.maxConcurrent} ` +
				`(arrivals at concurrency: ${JSON.stringify(countBy(receiver.received.map((r) => r.activeAtArrival)))})`,
		);
		expect(receiver.maxConcurrent).toBeLessThanOrEqual(6);
		expect(receiver.maxConcurrent).toBeGreaterThan(1); // the pool does run deliveries in parallel
		for (const path of [PATH_A, PATH_B]) {
			const got = receiver.received.filter((r) => r.path === path);
			expect([...byWebhookId(got).keys()].sort()).toEqual([...ids].sort());
			expect(got, `${path}: no redelivery of a slow but successful answer`).toHaveLength(30);
		}
		// Sequentially this would take 60 × 200 ms = 12 s.
		expect(elapsedMs).toBeLessThan(12_000);
	});
});

function countBy(values: readonly number[]): Record<string, number> {
	const out: Record<string, number> = {};
	for (const v of values) out[v] = (out[v] ?? 0) + 1;
	return out;
}
