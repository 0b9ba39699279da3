import { describe, expect, it } from "vitest";
import { Sundial as Client, type ConsumeSummary, type PulledMessage } from "../../packages/sdk/src/index.js";
import { useSundial } from "./fixture.js";
import { pollUntil, type Sundial, sleep } from "./lib.js";

/** `consume()` against the real Worker: many consumers, lease extension, nack on throw, graceful stop. */
describe("sundial-sdk consume() (wrangler dev)", () => {
	let sundial: Sundial;
	let client: Client;

	useSundial(
		(s) => {
			sundial = s;
			client = new Client({ url: s.worker.url, token: s.token });
		},
		{ receiver: false },
	);

	const pullTopic = async (topic: string, partitions = 1, retryBase = "1s") => {
		await client.topics.upsert(topic, { partitions });
		await client.subscriptions.upsert(topic, "w", { type: "pull", retry: { base: retryBase as "1s" } });
	};

	it("2,000 messages, 4 consumers of concurrency 8 on a 4-partition topic: each handled once, all acked", async () => {
		await pullTopic("consume-many", 4);
		const ids = Array.from({ length: 2000 }, (_, i) => `m-${i}`);
		await client.messages.publishBatch(
			"consume-many",
			ids.map((id) => ({ body: { id }, id })),
		);
		const handled = new Map<string, number>();
		const errors: unknown[] = [];
		const stop = new AbortController();
		const startedMs = Date.now();
		const consumers = Array.from({ length: 4 }, () =>
			new Client({ url: sundial.worker.url, token: sundial.token }).consume(
				{ topic: "consume-many", subscription: "w" },
				async (message) => {
					handled.set(message.id, (handled.get(message.id) ?? 0) + 1);
					await sleep(Math.random() * 5);
				},
				{ concurrency: 8, signal: stop.signal, onError: (e) => errors.push(e) },
			),
		);
		await pollUntil(() => handled.size === ids.length, 90_000, "every message handled", 100);
		const elapsedMs = Date.now() - startedMs;
		await pollUntil(
			async () => (await client.subscriptions.get("consume-many", "w")).counts.delivered === ids.length,
			30_000,
			"every ack recorded",
			200,
		);
		stop.abort();
		const summaries = await Promise.all(consumers);
		console.log(`consume: 2,000 messages by 4 consumers in ${elapsedMs} ms`);
		expect([...handled.values()].filter((n) => n !== 1)).toEqual([]);
		expect(summaries.reduce((sum, s) => sum + s.handled, 0)).toBe(ids.length);
		expect(summaries.every((s) => s.handled > 0 && s.failed === 0)).toBe(true);
		expect(errors).toEqual([]);
		expect((await client.subscriptions.get("consume-many", "w")).counts).toMatchObject({
			delivered: 2000,
			in_flight: 0,
			scheduled: 0,
		});
	});

	it("extends the lease while a handler runs longer than it, so no other consumer gets the message", async () => {
		await pullTopic("consume-extend");
		await client.messages.publish("consume-extend", { body: "slow", id: "slow" });
		const seen: PulledMessage[] = [];
		const stop = new AbortController();
		const run = () =>
			client.consume(
				{ topic: "consume-extend", subscription: "w" },
				async (message) => {
					seen.push(message);
					await sleep(3_000);
				},
				{ visibilityTimeout: "1s", wait: "1s", signal: stop.signal },
			);
		const both = [run(), run()];
		await pollUntil(() => seen.length > 0, 10_000, "the message received");
		await pollUntil(
			async () => (await client.messages.get("consume-extend", "slow")).deliveries[0]?.state === "delivered",
			15_000,
			"acked after the handler",
		);
		stop.abort();
		await Promise.all(both);
		expect(seen.map((m) => [m.id, m.attempt])).toEqual([["slow", 1]]);
		expect((await client.messages.get("consume-extend", "slow")).deliveries[0]?.attempts).toBe(1);
	});

	it("nacks a message whose handler throws; it comes back and is acked the next time", async () => {
		await pullTopic("consume-nack", 1, "100ms");
		await client.messages.publish("consume-nack", { body: "x", id: "flaky" });
		const attempts: number[] = [];
		const reported: [unknown, string | undefined][] = [];
		const stop = new AbortController();
		const done = client.consume(
			{ topic: "consume-nack", subscription: "w" },
			(message) => {
				attempts.push(message.attempt);
				if (message.attempt === 1) throw new Error("first time fails");
			},
			{ wait: "1s", signal: stop.signal, onError: (e, m) => reported.push([e, m?.id]) },
		);
		await pollUntil(
			async () => (await client.messages.get("consume-nack", "flaky")).deliveries[0]?.state === "delivered",
			15_000,
			"delivered on the second attempt",
		);
		stop.abort();
		expect(await done).toEqual({ handled: 1, failed: 1 });
		expect(attempts).toEqual([1, 2]);
		expect(reported).toHaveLength(1);
		expect(reported[0]?.[1]).toBe("flaky");
		expect(String(reported[0]?.[0])).toContain("first time fails");
	});

	it("stops gracefully: running handlers finish and are acked before consume resolves", async () => {
		await pullTopic("consume-stop");
		await client.messages.publishBatch(
			"consume-stop",
			Array.from({ length: 5 }, (_, i) => ({ body: i, id: `s-${i}` })),
		);
		let started = 0;
		let finished = 0;
		const stop = new AbortController();
		const done = client.consume(
			{ topic: "consume-stop", subscription: "w" },
			async () => {
				started++;
				await sleep(1_000);
				finished++;
			},
			{ concurrency: 5, signal: stop.signal },
		);
		await pollUntil(() => started === 5, 10_000, "all five handlers started");
		const stoppedAtMs = Date.now();
		stop.abort();
		const summary: ConsumeSummary = await done;
		expect(Date.now() - stoppedAtMs).toBeGreaterThanOrEqual(500);
		expect(finished).toBe(5);
		expect(summary).toEqual({ handled: 5, failed: 0 });
		expect((await client.subscriptions.get("consume-stop", "w")).counts).toMatchObject({ delivered: 5, in_flight: 0 });
	});

	it("rejects when the subscription can never be consumed (not pull, unknown topic)", async () => {
		await client.topics.upsert("consume-push");
		await client.subscriptions.upsert("consume-push", "hook", { type: "webhook", url: "http://127.0.0.1:9/x" });
		const notPull = await client
			.consume({ topic: "consume-push", subscription: "hook" }, () => {})
			.catch((e: unknown) => e);
		expect(notPull).toMatchObject({ status: 409, code: "not_pull" });
		const unknown = await client
			.consume({ topic: "consume-none", subscription: "w" }, () => {})
			.catch((e: unknown) => e);
		expect(unknown).toMatchObject({ status: 404, code: "topic_not_found" });
	});
});
