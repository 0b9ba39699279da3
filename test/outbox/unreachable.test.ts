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
			(s) => (s.topics[0]?.failures ?? 0) >= 5,
			15_000,
		);
		expect(waiting).toMatchObject({ pending: 3, dead: 0 });
		expect(waiting.topics[0]).toMatchObject({ topic, lastError: "Sundial is unreachable (test)" });
		expect(await p.getAlarm()).toBe(waiting.topics[0]?.nextAttemptAtMs);
		expect((await json<{ messages: unknown[] }>("GET", `/v1/topics/${topic}/messages`)).body.messages).toEqual([]);

		// Attempts came 200 ms, 300–400 ms, 600–800 ms apart, then at the 1 s cap (750–1000 ms).
		const runs = (await p.alarmRuns()).filter((r) => r.outboxWorked).map((r) => r.atMs);
		const gaps = runs.slice(1, 5).map((at, i) => at - (runs[i] as number));
		expect(gaps).toHaveLength(4);
		const slackMs = 150;
		expect(gaps[0]).toBeGreaterThanOrEqual(200);
		expect(gaps[0]).toBeLessThan(200 + slackMs);
		expect(gaps[1]).toBeGreaterThanOrEqual(300);
		expect(gaps[1]).toBeLessThan(400 + slackMs);
		expect(gaps[2]).toBeGreaterThanOrEqual(600);
		expect(gaps[2]).toBeLessThan(800 + slackMs);
		expect(gaps[3]).toBeGreaterThanOrEqual(750);
		expect(gaps[3]).toBeLessThan(1000 + slackMs);

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
