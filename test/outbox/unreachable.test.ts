import { describe, expect, it } from "vitest";
import { json, received, topicWithWebhook, uniqueName } from "../helpers";
import { eventually, probe, sleep } from "./support";

describe("while Sundial is unreachable", () => {
	it("keeps the messages, retries with a growing bounded backoff, then sends them in order", async () => {
		const topic = uniqueName("outbox-down");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		const p = probe(uniqueName("probe"));
		await p.configure("down", { minBackoffMs: 200, maxBackoffMs: 1000, batchSize: 2 });

		const ids = ["first", "second", "third"];
		for (const [i, id] of ids.entries()) await p.placeOrder(`o-${i}`, topic, { id, body: { order: i } });
		const waiting = await eventually(
			() => p.stats(),
			(s) => (s.topics[0]?.failures ?? 0) >= 6,
			15_000,
		);
		expect(waiting).toMatchObject({ pending: 3, dead: 0 });
		expect(waiting.topics[0]).toMatchObject({ topic, lastError: "Sundial is unreachable (test)" });
		const { alarmAtMs, stats } = await p.alarmAndStats();
		expect(alarmAtMs).toBe(stats.topics[0]?.nextAttemptAtMs);
		expect((await json<{ messages: unknown[] }>("GET", `/v1/topics/${topic}/messages`)).body.messages).toEqual([]);

		// Attempts came 200 ms, 300–400 ms, 600–800 ms apart, then at the 1 s cap (750–1000 ms).
		const runs = (await p.alarmRuns()).filter((r) => r.outboxWorked).map((r) => r.atMs);
		const gaps = runs.slice(1, 6).map((at, i) => at - (runs[i] as number));
		expect(gaps).toHaveLength(5);
		// Each wait is at least its backoff; the slack covers the run itself and a loaded machine.
		const slackMs = 250;
		const bounds = [
			[200, 200],
			[300, 400],
			[600, 800],
			[750, 1000],
			[750, 1000], // capped: uncapped it would be 2.4–3.2 s
		];
		bounds.forEach(([minMs, maxMs], i) => {
			expect(gaps[i]).toBeGreaterThanOrEqual(minMs as number);
			expect(gaps[i]).toBeLessThan((maxMs as number) + slackMs);
		});

		await p.configure("up");
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0,
			5_000,
		);
		expect((await p.sends()).map((s) => s.ids)).toEqual([["first", "second"], ["third"]]);
		await eventually(
			() => received(path),
			(r) => r.length === 3,
		);
		expect(await p.stats()).toEqual({ pending: 0, dead: 0, topics: [] });
		expect(await p.getAlarm()).toBeNull();
	});

	it("keeps a topic's messages waiting while the topic does not exist, without holding up other topics", async () => {
		const missing = uniqueName("outbox-later");
		const present = uniqueName("outbox-now");
		await topicWithWebhook(present, `/hook/${present}`);
		const p = probe(uniqueName("probe"));
		await p.configure("up", { minBackoffMs: 100, maxBackoffMs: 300 });

		await p.placeOrder("o-1", missing, { id: "for-later", body: 1 });
		await p.placeOrder("o-2", present, { id: "for-now", body: 2 });
		await eventually(
			() => received(`/hook/${present}`),
			(r) => r.length === 1,
		);
		const stats = await eventually(
			() => p.stats(),
			(s) => (s.topics[0]?.failures ?? 0) >= 2,
		);
		expect(stats).toMatchObject({
			pending: 1,
			dead: 0,
			topics: [{ topic: missing, lastError: "topic_not_found: topic not found" }],
		});

		await topicWithWebhook(missing, `/hook/${missing}`);
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0,
			5_000,
		);
		await eventually(
			() => received(`/hook/${missing}`),
			(r) => r.length === 1,
		);
		await sleep(200);
		expect((await received(`/hook/${missing}`)).map((r) => r.headers["webhook-id"])).toEqual(["for-later"]);
	});
});
