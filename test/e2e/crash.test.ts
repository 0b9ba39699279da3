import { describe, expect, it } from "vitest";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import {
	byWebhookId,
	createWebhookTopic,
	describeMissing,
	pollUntil,
	publishBatch,
	type Sundial,
	sleep,
} from "./lib.js";

const TOPIC = "crash";
const PATH = "/crash";
const COUNT = 1000;

interface Counts {
	scheduled: number;
	in_flight: number;
	delivered: number;
	dead: number;
}

describe("crash recovery (SIGKILL of wrangler dev mid-delivery)", () => {
	let sundial: Sundial;
	let receiver: Receiver;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
	});

	it("delivers every message at least once after the runtime is killed and restarted", async () => {
		// Short leases: timeout 2 s (+ grace) so an interrupted attempt is retried soon even without a restart hook.
		await createWebhookTopic(sundial, TOPIC, "hook", `${receiver.url}${PATH}`, { timeout: "2s" });
		receiver.behaviour(PATH, { status: 200, delayMs: 5 });

		const items = Array.from({ length: COUNT }, (_, i) => ({
			id: `c-${String(i).padStart(4, "0")}`,
			body: { i },
			delay: `${2000 + Math.round((1000 * i) / (COUNT - 1))}ms`, // due 2 s … 3 s from now
		}));
		const ids = (await publishBatch(sundial, TOPIC, items)).map((r) => r.id);
		expect(ids).toEqual(items.map((m) => m.id));
		const unique = () => byWebhookId(receiver.received.filter((r) => r.path === PATH)).size;

		// Kill once 10–40 % have arrived: aim at 15 %, polling often so the overshoot stays small.
		await pollUntil(() => unique() >= COUNT * 0.15, 20_000, "15 % of the messages arriving before the crash", 2);
		const firstPid = sundial.worker.pid;
		await sundial.worker.kill();
		const atKill = unique();
		const requestsAtKill = receiver.received.filter((r) => r.path === PATH).length;
		console.log(`crash: SIGKILL after ${atKill}/${COUNT} (${((100 * atKill) / COUNT).toFixed(1)} %) had arrived`);
		expect(atKill).toBeGreaterThanOrEqual(COUNT * 0.1);
		expect(atKill).toBeLessThanOrEqual(COUNT * 0.4); // the crash happened early in the delivery

		const restartedMs = Date.now();
		await sundial.restart();
		expect(sundial.worker.pid).not.toBe(firstPid);
		// No API call until everything arrived: the persisted alarm alone must resume delivery.
		await receiver
			.waitFor(() => unique() >= COUNT, 60_000)
			.catch(async (error: unknown) => {
				throw new Error(`${error}\n${await describeMissing(sundial, TOPIC, ids, receiver, PATH)}`);
			});
		const recoveredMs = Date.now() - restartedMs;

		// Every attempt is recorded by the time the counts settle; nothing is left scheduled, in flight or dead.
		const counts = await pollUntil(
			async () => {
				const res = await sundial.api<{ counts: Counts }>("GET", `/v1/topics/${TOPIC}/subscriptions/hook`);
				return res.status === 200 && res.body.counts.delivered === COUNT ? res.body.counts : null;
			},
			15_000,
			`all ${COUNT} deliveries recorded as delivered`,
			200,
		);
		expect(counts).toEqual({ scheduled: 0, in_flight: 0, delivered: COUNT, dead: 0 });

		await sleep(500); // a straggling duplicate would land now
		const got = byWebhookId(receiver.received.filter((r) => r.path === PATH));
		const missing = ids.filter((id) => !got.has(id));
		expect(missing, "no message id is missing").toEqual([]);
		expect(got.size).toBe(COUNT);

		const total = receiver.received.filter((r) => r.path === PATH).length;
		const repeated = [...got].filter(([, list]) => list.length > 1);
		const laterAttempts = receiver.received.filter((r) => r.path === PATH && r.headers["sundial-attempt"] !== "1");
		console.log(
			`crash: ${requestsAtKill} request(s) before the kill; recovered all ${COUNT} ids ${recoveredMs} ms after the restart began; ` +
				`${total} requests in all, ${total - COUNT} duplicate(s) over ${repeated.length} id(s); ` +
				`${laterAttempts.length} request(s) with sundial-attempt > 1`,
		);
		// At-least-once: a duplicate is a redelivery of the same id, counted as a later attempt.
		for (const [id, list] of repeated) {
			const attempts = list.map((r) => Number(r.headers["sundial-attempt"]));
			expect(new Set(attempts).size, `${id}: each delivery of it is a new attempt`).toBe(list.length);
			expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
			for (const r of list) expect(r.body).toBe(list[0]?.body);
		}

		// A sample of message details (spread over the range, plus every duplicated id up to 10) says delivered.
		const sample = new Set<string>();
		for (let i = 0; i < COUNT; i += 50) sample.add(ids[i] as string);
		sample.add(ids[COUNT - 1] as string);
		for (const [id] of repeated.slice(0, 10)) sample.add(id);
		for (const id of sample) {
			const res = await sundial.api<{
				id: string;
				deliveries: { subscription: string; state: string; attempts: number; last_status: number | null }[];
			}>("GET", `/v1/topics/${TOPIC}/messages/${id}`);
			expect(res.status).toBe(200);
			expect(res.body.id).toBe(id);
			expect(res.body.deliveries).toHaveLength(1);
			expect(res.body.deliveries[0]).toMatchObject({ subscription: "hook", state: "delivered", last_status: 200 });
			expect(res.body.deliveries[0]?.attempts).toBeGreaterThanOrEqual(got.get(id)?.length ?? 1);
		}
	});
	it("after a restart, sends what fell due meanwhile at once, not when the interrupted batch's lease ends", async () => {
		// Default timeout 30 s: an interrupted attempt's lease runs ~32 s. The receiver is slow (300 ms), so
		// when the runtime dies one batch is in flight and the rest of the messages are due but unclaimed.
		const topic = "crash-resume";
		const path = "/crash-resume";
		await createWebhookTopic(sundial, topic, "hook", `${receiver.url}${path}`);
		receiver.behaviour(path, { status: 200, delayMs: 300 });
		const count = 100;
		const items = Array.from({ length: count }, (_, i) => ({ id: `r-${String(i).padStart(3, "0")}`, body: { i } }));
		const ids = (
			await publishBatch(
				sundial,
				topic,
				items.map((m) => ({ ...m, delay: "500ms" })),
			)
		).map((r) => r.id);
		const unique = () => byWebhookId(receiver.received.filter((r) => r.path === path)).size;

		await pollUntil(() => unique() >= 12, 20_000, "two rounds of 6 requests before the crash", 5);
		await sundial.worker.kill();
		const atKill = unique();
		await sundial.restart();
		const readyMs = Date.now();
		// Nothing but the persisted alarm may resume delivery: no API call until the end.
		await receiver
			.waitFor(() => unique() >= count, 15_000)
			.catch(async (error: unknown) => {
				throw new Error(
					`${error}\nAfter the restart, deliveries stayed parked until the lease of the batch that was in flight ` +
						`at the crash ran out (the alarm was moved to the lease end, past earlier due deliveries).\n` +
						(await describeMissing(sundial, topic, ids, receiver, path)),
				);
			});
		console.log(
			`crash-resume: killed after ${atKill}/${count}; all ${count} arrived ${Date.now() - readyMs} ms after the restart was ready`,
		);
	});
});
