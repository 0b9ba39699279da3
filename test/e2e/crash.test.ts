import { describe, expect, it } from "vitest";
import type { Receiver } from "../support/receiver.js";
import { expectRecovery } from "./crash-lib.js";
import { useSundial } from "./fixture.js";
import { byWebhookId, createWebhookTopic, describeMissing, pollUntil, publishBatch, type Sundial } from "./lib.js";

const TOPIC = "crash";
const PATH = "/crash";
const COUNT = 1000;

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
		const { recoveredMs, got, repeated } = await expectRecovery(sundial, receiver, {
			topic: TOPIC,
			path: PATH,
			ids,
			restartedMs,
			arriveMs: 60_000,
			recordMs: 15_000,
		});
		const total = receiver.received.filter((r) => r.path === PATH).length;
		const laterAttempts = receiver.received.filter((r) => r.path === PATH && r.headers["sundial-attempt"] !== "1");
		console.log(
			`crash: ${requestsAtKill} request(s) before the kill; recovered all ${COUNT} ids ${recoveredMs} ms after the restart began; ` +
				`${total} requests in all, ${total - COUNT} duplicate(s) over ${repeated.length} id(s); ` +
				`${laterAttempts.length} request(s) with sundial-attempt > 1`,
		);

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
