import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing.js";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import { addWebhook, byWebhookId, describeMissing, type PublishResult, type Sundial, sleep } from "./lib.js";

const TOPIC = "partitioned";
const PATH = "/partitioned";
const PARTITIONS = 8;

describe("a topic with 8 partitions, end to end (wrangler dev + real receiver)", () => {
	let sundial: Sundial;
	let receiver: Receiver;
	let secret: string;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
		const created = await sundial.api("PUT", `/v1/topics/${TOPIC}`, { partitions: PARTITIONS });
		if (created.status !== 201) throw new Error(`PUT topic: ${JSON.stringify(created.body)}`);
		secret = await addWebhook(sundial, TOPIC, "hook", `${receiver.url}${PATH}`);
	});

	it("delivers 2,000 messages (chosen and generated ids) at least once, never early; each found by id; lists and counts exact", async () => {
		const published: { id: string; deliverAtMs: number }[] = [];
		for (let batch = 0; batch < 4; batch++) {
			const items = Array.from({ length: 500 }, (_, i) => {
				const n = batch * 500 + i;
				const delay = 1 + (n % 30) / 10; // due over 1–4 s from now
				return n % 2 === 0 ? { id: `p-${String(n).padStart(4, "0")}`, body: { n }, delay } : { body: { n }, delay };
			});
			const res = await sundial.api<{ results: PublishResult[] }>("POST", `/v1/topics/${TOPIC}/messages/batch`, items);
			expect(res.status).toBe(200);
			for (const r of res.body.results) {
				expect(r.error).toBeUndefined();
				expect(r.duplicate).toBeUndefined();
				published.push({ id: r.id, deliverAtMs: Date.parse(r.deliver_at) });
			}
		}
		const ids = published.map((p) => p.id);
		expect(new Set(ids).size).toBe(2000);
		const perPartition = new Array(PARTITIONS).fill(0);
		for (const id of ids) perPartition[partitionOf(id, PARTITIONS)] += 1;
		expect(perPartition.every((n) => n > 150)).toBe(true);

		const done = () => {
			const got = byWebhookId(receiver.received.filter((r) => r.path === PATH));
			return ids.every((id) => got.has(id));
		};
		await receiver.waitFor(done, 60_000).catch(async (error: unknown) => {
			throw new Error(`${error}\n${await describeMissing(sundial, TOPIC, ids, receiver, PATH)}`);
		});

		const got = byWebhookId(receiver.received.filter((r) => r.path === PATH));
		const verifier = new Webhook(secret);
		for (const { id, deliverAtMs } of published) {
			const first = (got.get(id) ?? [])[0];
			expect(first, id).toBeDefined();
			expect(first?.receivedAtMs, `${id} early`).toBeGreaterThanOrEqual(deliverAtMs);
			// One secret for the topic: every partition signs with it.
			expect(() => verifier.verify(first?.body ?? "", first?.headers ?? {})).not.toThrow();
		}

		// Each message is found by id, in whichever partition it lives.
		for (let i = 0; i < ids.length; i += 50) {
			const chunk = ids.slice(i, i + 50);
			const found = await Promise.all(chunk.map((id) => sundial.api("GET", `/v1/topics/${TOPIC}/messages/${id}`)));
			found.forEach((res, k) => {
				expect(res.status, chunk[k]).toBe(200);
				expect(res.body).toMatchObject({ id: chunk[k] });
			});
		}

		// The merged list pages through all of them once.
		const listed: string[] = [];
		let cursor: string | null = null;
		do {
			const page: { status: number; body: { messages: { id: string }[]; next_cursor: string | null } } =
				await sundial.api(
					"GET",
					`/v1/topics/${TOPIC}/messages?limit=300${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
				);
			expect(page.status).toBe(200);
			listed.push(...page.body.messages.map((m) => m.id));
			cursor = page.body.next_cursor;
		} while (cursor !== null);
		expect(listed.length).toBe(2000);
		expect(new Set(listed)).toEqual(new Set(ids));

		// Counts sum over partitions (outcomes are recorded just after the receiver answers).
		let topic: { status: number; body: Record<string, unknown> } = { status: 0, body: {} };
		for (let tries = 0; tries < 50; tries++) {
			topic = await sundial.api("GET", `/v1/topics/${TOPIC}`);
			if ((topic.body.counts as { delivered: number }).delivered === 2000) break;
			await sleep(100);
		}
		expect(topic.body).toMatchObject({
			partitions: PARTITIONS,
			messages: 2000,
			counts: { scheduled: 0, in_flight: 0, delivered: 2000, dead: 0, cancelled: 0 },
		});
		const sub = await sundial.api("GET", `/v1/topics/${TOPIC}/subscriptions/hook`);
		expect(sub.body).toMatchObject({ counts: { scheduled: 0, in_flight: 0, delivered: 2000, dead: 0 } });
	});
});
