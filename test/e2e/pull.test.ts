import { describe, expect, it } from "vitest";
import { useSundial } from "./fixture.js";
import { pollUntil, publishBatch, type Sundial, sleep } from "./lib.js";

interface Pulled {
	id: string;
	receipt: string;
	body: unknown;
	headers: Record<string, string>;
	attempt: number;
	deliver_at: string;
}
type Counts = { scheduled: number; in_flight: number; delivered: number; dead: number };

describe("pull consumers: long poll, leases, ack / extend (wrangler dev)", () => {
	let sundial: Sundial;

	useSundial(
		(s) => {
			sundial = s;
		},
		{ receiver: false },
	);

	const pullTopic = async (topic: string) => {
		expect((await sundial.api("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
		const sub = await sundial.api("PUT", `/v1/topics/${topic}/subscriptions/pull`, {
			type: "pull",
			visibility_timeout: "2s",
			retry: { max_attempts: 5 },
		});
		expect(sub.status, JSON.stringify(sub.body)).toBe(201);
		expect(sub.body).toMatchObject({ type: "pull", visibility_timeout_ms: 2000, secret: null });
	};
	const receive = async (topic: string, body: Record<string, unknown>): Promise<Pulled[]> => {
		const res = await sundial.api<{ messages: Pulled[] }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/pull/receive`,
			body,
		);
		if (res.status !== 200) throw new Error(`receive: ${res.status} ${JSON.stringify(res.body)}`);
		return res.body.messages;
	};
	const ack = async (topic: string, receipts: string[]): Promise<Record<string, boolean>> => {
		const res = await sundial.api<{ results: Record<string, boolean> }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/pull/ack`,
			{ receipts },
		);
		if (res.status !== 200) throw new Error(`ack: ${res.status} ${JSON.stringify(res.body)}`);
		return res.body.results;
	};
	const counts = async (topic: string) =>
		(await sundial.api<{ counts: Counts }>("GET", `/v1/topics/${topic}/subscriptions/pull`)).body.counts;

	it("answers a long poll issued before the due time right at the due time", async () => {
		const topic = "pull-longpoll";
		await pullTopic(topic);
		const lateness: number[] = [];
		for (let round = 0; round < 3; round++) {
			const pub = await sundial.api<{ id: string; deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, {
				id: `lp-${round}`,
				body: { round },
				delay: "1500ms",
			});
			expect(pub.status).toBe(201);
			const dueMs = Date.parse(pub.body.deliver_at);
			const issuedMs = Date.now();
			expect(issuedMs, "the receive goes out well before the due time").toBeLessThan(dueMs - 500);
			const messages = await receive(topic, { max: 10, wait: "10s" });
			const answeredMs = Date.now();
			expect(messages.map((m) => [m.id, m.attempt, m.body])).toEqual([[`lp-${round}`, 1, { round }]]);
			expect(messages[0]?.deliver_at).toBe(pub.body.deliver_at);
			lateness.push(answeredMs - dueMs);
			expect(await ack(topic, [messages[0]?.receipt as string])).toEqual({ [messages[0]?.receipt as string]: true });
		}
		console.log(`pull: long-poll answer after deliver_at (client side): ${lateness.map((l) => `${l} ms`).join(", ")}`);
		for (const late of lateness) {
			expect(late, "never before the due time").toBeGreaterThanOrEqual(0);
			expect(late, "within ~50 ms of the due time (150 ms allowed on a loaded machine)").toBeLessThan(150);
		}
	});

	it("gives 2,000 messages to two concurrent consumers exactly once in total", async () => {
		const topic = "pull-drain";
		await pullTopic(topic);
		const total = 2000;
		const byId = new Map<string, string[]>(); // id → consumers that received it
		const badBodies: string[] = [];
		const ackFailures: string[] = [];
		const deadline = Date.now() + 60_000;
		// A 30 s lease for the drain: a redelivery here could then only be a second consumer getting a live lease.
		const consumer = async (name: string) => {
			let calls = 0;
			while (byId.size < total && Date.now() < deadline && calls < 1000) {
				calls++;
				const messages = await receive(topic, { max: 50, wait: "2s", visibility_timeout: "30s" });
				if (messages.length === 0) continue;
				for (const m of messages) {
					byId.set(m.id, [...(byId.get(m.id) ?? []), name]);
					if (JSON.stringify(m.body) !== JSON.stringify({ n: Number(m.id.slice(2)) })) badBodies.push(m.id);
				}
				const results = await ack(
					topic,
					messages.map((m) => m.receipt),
				);
				for (const m of messages) if (results[m.receipt] !== true) ackFailures.push(`${m.id} (${name})`);
			}
			return calls;
		};

		const startedMs = Date.now();
		const running = Promise.all([consumer("A"), consumer("B")]);
		for (let batch = 0; batch < 4; batch++) {
			const items = Array.from({ length: 500 }, (_, i) => {
				const n = batch * 500 + i;
				return { id: `d-${String(n).padStart(4, "0")}`, body: { n }, delay: `${(n % 10) * 100}ms` };
			});
			await publishBatch(sundial, topic, items);
		}
		const calls = await running;
		const elapsedMs = Date.now() - startedMs;
		const perConsumer = { A: 0, B: 0 } as Record<string, number>;
		for (const names of byId.values()) for (const n of names) perConsumer[n] = (perConsumer[n] ?? 0) + 1;
		console.log(
			`pull: drained ${byId.size} messages in ${elapsedMs} ms; per consumer ${JSON.stringify(perConsumer)}, ` +
				`receive calls ${calls.join(" + ")}`,
		);

		expect(byId.size, "every message received").toBe(total);
		const repeated = [...byId].filter(([, names]) => names.length > 1).map(([id, names]) => `${id}: ${names}`);
		expect(repeated, "no message received twice, by the same or the other consumer").toEqual([]);
		expect(badBodies).toEqual([]);
		expect(ackFailures, "every ack of a live receipt is true").toEqual([]);
		expect(perConsumer.A, "both consumers took part").toBeGreaterThan(0);
		expect(perConsumer.B, "both consumers took part").toBeGreaterThan(0);
		expect(elapsedMs).toBeLessThan(60_000);

		expect(await receive(topic, { max: 100 })).toEqual([]);
		expect(await counts(topic)).toEqual({ scheduled: 0, in_flight: 0, delivered: total, dead: 0 });
	});

	it("makes un-acked messages visible again after the visibility timeout, as attempt 2 with new receipts", async () => {
		const topic = "pull-redeliver";
		await pullTopic(topic);
		const ids = ["r-1", "r-2", "r-3", "r-4", "r-5"];
		await publishBatch(
			sundial,
			topic,
			ids.map((id) => ({ id, body: { id } })),
		);
		const first = await receive(topic, { max: 10, wait: "2s" });
		const leasedMs = Date.now();
		expect(first.map((m) => m.id).sort()).toEqual(ids);
		expect(first.every((m) => m.attempt === 1)).toBe(true);

		await sleep(1000);
		expect(await receive(topic, { max: 10 }), "nothing while the leases run").toEqual([]);
		await sleep(leasedMs + 2500 - Date.now());

		// The expired lease is a failed attempt: visible again after the backoff (default exponential, ≤ 1 s).
		const second: Pulled[] = [];
		await pollUntil(
			async () => {
				second.push(...(await receive(topic, { max: 10, wait: "3s" })));
				return second.length >= ids.length;
			},
			10_000,
			"all five messages leased again",
			0,
		);
		console.log(`pull: un-acked messages back ${Date.now() - leasedMs} ms after the first lease`);
		expect(second.map((m) => m.id).sort()).toEqual(ids);
		expect(second.every((m) => m.attempt === 2)).toBe(true);
		const old = new Set(first.map((m) => m.receipt));
		expect(
			second.some((m) => old.has(m.receipt)),
			"new receipts for the new leases",
		).toBe(false);

		const stale = await ack(
			topic,
			first.map((m) => m.receipt),
		);
		expect(Object.values(stale)).toEqual([false, false, false, false, false]);
		const fresh = await ack(
			topic,
			second.map((m) => m.receipt),
		);
		expect(Object.values(fresh)).toEqual([true, true, true, true, true]);
		const detail = await sundial.api<{ deliveries: { state: string; attempts: number }[] }>(
			"GET",
			`/v1/topics/${topic}/messages/r-1`,
		);
		expect(detail.body.deliveries).toMatchObject([{ subscription: "pull", state: "delivered", attempts: 2 }]);
	});

	it("keeps a lease alive past its visibility timeout when extended", async () => {
		const topic = "pull-extend";
		await pullTopic(topic);
		await publishBatch(sundial, topic, [{ id: "x-1", body: "keep me" }]);
		const [m] = await receive(topic, { max: 1, wait: "2s", visibility_timeout: "2s" });
		const leasedMs = Date.now();
		expect(m?.id).toBe("x-1");
		const receipt = m?.receipt as string;

		await sleep(leasedMs + 1000 - Date.now());
		const ext = await sundial.api<{ extended: boolean; lease_expires_at: string | null }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/pull/extend`,
			{ receipt, visibility_timeout: "5s" },
		);
		expect(ext.status).toBe(200);
		expect(ext.body).toMatchObject({ receipt, extended: true });
		const untilMs = Date.parse(ext.body.lease_expires_at as string);
		expect(untilMs - Date.now()).toBeGreaterThan(4000);
		expect(untilMs - Date.now()).toBeLessThanOrEqual(5000);

		await sleep(leasedMs + 3000 - Date.now()); // past the original 2 s lease
		expect(await receive(topic, { max: 10 }), "still leased at 3 s").toEqual([]);
		expect(await counts(topic)).toMatchObject({ in_flight: 1, scheduled: 0 });
		expect(await ack(topic, [receipt])).toEqual({ [receipt]: true });
		expect(await counts(topic)).toEqual({ scheduled: 0, in_flight: 0, delivered: 1, dead: 0 });
	});
});
