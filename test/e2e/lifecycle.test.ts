import { describe, expect, it } from "vitest";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import { createWebhookTopic, describeMissing, pollUntil, type Sundial, sleep } from "./lib.js";

interface Delivery {
	subscription: string;
	state: string;
	attempts: number;
	next_attempt_at: string | null;
	last_status: number | null;
	last_error: string | null;
	delivered_at: string | null;
}
interface Dead {
	message_id: string;
	subscription: string;
	attempts: number;
	last_status: number | null;
	last_error: string | null;
	dead_at: string;
}

describe("message lifecycle: retries, Retry-After, timeout, dead letters, redrive (wrangler dev + real receiver)", () => {
	let sundial: Sundial;
	let receiver: Receiver;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
	});

	/** The one delivery of message `id` (the topics here have one subscription each). */
	const delivery = async (topic: string, id: string): Promise<Delivery> => {
		const res = await sundial.api<{ id: string; deliveries: Delivery[] }>("GET", `/v1/topics/${topic}/messages/${id}`);
		expect(res.status).toBe(200);
		expect(res.body.deliveries).toHaveLength(1);
		return res.body.deliveries[0] as Delivery;
	};
	const waitState = (topic: string, id: string, state: string, timeoutMs: number) =>
		pollUntil(
			async () => {
				const d = await delivery(topic, id);
				return d.state === state ? d : null;
			},
			timeoutMs,
			`${topic}/${id} reaching state ${state}`,
			100,
		);

	it("retries 500, 503 + Retry-After, a hang past the timeout, then delivers on the 200", async () => {
		const topic = "lifecycle";
		const path = "/lifecycle/retry";
		await createWebhookTopic(sundial, topic, "hook", `${receiver.url}${path}`, {
			timeout: "1s",
			retry: { max_attempts: 5, backoff: "fixed", base: "300ms", jitter: false },
		});
		receiver.behaviour(path, (req) => {
			switch (req.headers["sundial-attempt"]) {
				case "1":
					return { status: 500, body: "boom" };
				case "2":
					return { status: 503, headers: { "retry-after": "1" }, body: "busy" };
				case "3":
					return { status: 200, delayMs: 2000, body: "too late" }; // past the 1 s timeout
				default:
					return { status: 200, body: "ok" };
			}
		});

		const pub = await sundial.api<{ id: string; deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, {
			id: "retry-me",
			body: { order: 42 },
			delay: "300ms",
		});
		expect(pub.status).toBe(201);
		const id = pub.body.id;
		const dueMs = Date.parse(pub.body.deliver_at);
		const arrivals = () => receiver.received.filter((r) => r.path === path);

		await receiver
			.waitFor(() => arrivals().length >= 4, 20_000)
			.catch(async (error: unknown) => {
				throw new Error(`${error}\n${await describeMissing(sundial, topic, [id], receiver, path)}`);
			});
		const d = await waitState(topic, id, "delivered", 10_000);
		await sleep(500); // a fifth (wrong) attempt would arrive now
		const got = arrivals();
		expect(got).toHaveLength(4);
		expect(got.map((r) => r.headers["webhook-id"])).toEqual([id, id, id, id]);
		expect(got.map((r) => r.headers["sundial-attempt"])).toEqual(["1", "2", "3", "4"]);
		for (const r of got) {
			expect(r.body).toBe('{"order":42}');
			expect(r.headers["sundial-deliver-at"]).toBe(new Date(dueMs).toISOString());
		}

		const at = got.map((r) => r.receivedAtMs);
		const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
		console.log(
			`lifecycle: attempt 1 at due+${(at[0] as number) - dueMs} ms; gaps 1→2 ${gaps[0]} ms, ` +
				`2→3 ${gaps[1]} ms (Retry-After: 1), 3→4 ${gaps[2]} ms (1 s timeout + 300 ms)`,
		);
		expect(at[0]).toBeGreaterThanOrEqual(dueMs);
		expect(gaps[0], "fixed backoff of 300 ms after the 500").toBeGreaterThanOrEqual(300);
		expect(gaps[0], "the 300 ms backoff, not Retry-After or the default policy").toBeLessThan(1000);
		expect(gaps[1], "Retry-After: 1 overrides the 300 ms backoff").toBeGreaterThanOrEqual(990);
		// The timeout starts when the slot is taken (just before the request goes out), so allow a little.
		expect(gaps[2], "1 s timeout, then the 300 ms backoff").toBeGreaterThanOrEqual(1250);

		expect(d).toMatchObject({ subscription: "hook", state: "delivered", attempts: 4, last_status: 200 });
		expect(d.delivered_at).not.toBeNull();
		expect(Date.parse(d.delivered_at as string)).toBeGreaterThanOrEqual(at[3] as number);
	});

	it("ends dead after max_attempts, is listed in /dead, and a redrive delivers it", async () => {
		const topic = "lifecycle-dead";
		const path = "/lifecycle/dead";
		await createWebhookTopic(sundial, topic, "hook", `${receiver.url}${path}`, {
			timeout: "1s",
			retry: { max_attempts: 2, backoff: "fixed", base: "300ms", jitter: false },
		});
		receiver.behaviour(path, { status: 500, body: "always failing" });

		const pub = await sundial.api<{ id: string }>("POST", `/v1/topics/${topic}/messages`, {
			id: "doomed",
			body: "plain text",
			content_type: "text/plain",
		});
		expect(pub.status).toBe(201);
		const id = pub.body.id;

		const dead = await waitState(topic, id, "dead", 15_000);
		expect(dead).toMatchObject({ state: "dead", attempts: 2, last_status: 500, delivered_at: null });
		expect(receiver.received.filter((r) => r.path === path).map((r) => r.headers["sundial-attempt"])).toEqual([
			"1",
			"2",
		]);

		const list = await sundial.api<{ dead: Dead[]; next_cursor: string | null }>(
			"GET",
			`/v1/topics/${topic}/subscriptions/hook/dead`,
		);
		expect(list.status).toBe(200);
		expect(list.body.next_cursor).toBeNull();
		expect(list.body.dead).toHaveLength(1);
		expect(list.body.dead[0]).toMatchObject({ message_id: id, subscription: "hook", attempts: 2, last_status: 500 });
		expect(list.body.dead[0]?.dead_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
		const counts = await sundial.api<{ counts: Record<string, number> }>(
			"GET",
			`/v1/topics/${topic}/subscriptions/hook`,
		);
		expect(counts.body.counts).toMatchObject({ scheduled: 0, in_flight: 0, delivered: 0, dead: 1 });

		// The receiver recovers; the redrive schedules it again now with attempts reset.
		receiver.behaviour(path, { status: 200, body: "ok now" });
		const before = receiver.received.filter((r) => r.path === path).length;
		const redrive = await sundial.api("POST", `/v1/topics/${topic}/subscriptions/hook/dead/redrive`, { ids: [id] });
		expect(redrive.status).toBe(200);
		expect(redrive.body).toMatchObject({ redriven: 1, pending: 0 });

		const delivered = await waitState(topic, id, "delivered", 10_000);
		expect(delivered).toMatchObject({ state: "delivered", attempts: 1, last_status: 200 });
		const again = receiver.received.filter((r) => r.path === path).slice(before);
		expect(again).toHaveLength(1);
		expect(again[0]?.headers["webhook-id"]).toBe(id);
		expect(again[0]?.headers["sundial-attempt"]).toBe("1");
		expect(again[0]?.body).toBe("plain text");

		const after = await sundial.api<{ dead: Dead[]; next_cursor: string | null }>(
			"GET",
			`/v1/topics/${topic}/subscriptions/hook/dead`,
		);
		expect(after.status).toBe(200);
		expect(after.body).toEqual({ dead: [], next_cursor: null });
		const final = await sundial.api<{ counts: Record<string, number> }>(
			"GET",
			`/v1/topics/${topic}/subscriptions/hook`,
		);
		expect(final.body.counts).toMatchObject({ scheduled: 0, in_flight: 0, delivered: 1, dead: 0 });
	});
});
