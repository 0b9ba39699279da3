import { describe, expect, it } from "vitest";
import { received, topicWithWebhook, uniqueName } from "../helpers";
import { eventually, probe, sleep } from "./support";

describe("messages Sundial refuses", () => {
	it("go to the dead table with Sundial's answer and never hold up the rest", async () => {
		const topic = uniqueName("outbox-dead");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		const p = probe(uniqueName("probe"));

		await p.placeOrder("o-1", topic, { id: "good-1", body: 1 });
		await p.placeOrder("o-2", topic, { id: "bad", body: 2, request_id: "has spaces" });
		await p.placeOrder("o-3", topic, { id: "good-2", body: 3 });
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0 && s.dead === 1,
		);
		await eventually(
			() => received(path),
			(r) => r.length === 2,
		);
		expect((await received(path)).map((r) => r.headers["webhook-id"]).sort()).toEqual(["good-1", "good-2"]);

		const [dead] = JSON.parse(await p.dead()) as unknown[];
		expect(dead).toEqual({
			seq: expect.any(Number),
			id: "bad",
			topic,
			message: { id: "bad", body: 2, request_id: "has spaces" },
			error: {
				code: "invalid_request",
				message: expect.stringContaining("request_id"),
				issues: [{ path: expect.stringMatching(/^\[[0-2]\]\.request_id$/), message: expect.any(String) }],
			},
			publishedAtMs: expect.any(Number),
			deadAtMs: expect.any(Number),
		});

		// Queued again, it is refused again: still one dead message, nothing delivered.
		const sendsBefore = (await p.sends()).length;
		expect(await p.retryDead(["bad"])).toBe(1);
		await eventually(
			() => p.sends(),
			(s) => s.length === sendsBefore + 1,
		);
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0 && s.dead === 1,
		);
		await sleep(200);
		expect(await received(path)).toHaveLength(2);
	});

	it("are sent in smaller batches when Sundial says a batch is too large", async () => {
		const topic = uniqueName("outbox-small");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		const p = probe(uniqueName("probe"));
		await p.configure("max-batch-2");

		const ids = ["a", "b", "c", "d", "e"];
		await p.placeOrder("o-1", topic, { id: "first", body: 0 });
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0,
		);
		await p.configure("down");
		for (const [i, id] of ids.entries()) await p.placeOrder(`o-${i + 2}`, topic, { id, body: i });
		await eventually(
			() => p.stats(),
			(s) => s.topics[0]?.failures === 1,
		);
		await p.configure("max-batch-2");
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0,
			5_000,
		);
		expect((await p.sends()).map((s) => s.ids)).toEqual([["first"], ["a", "b"], ["c", "d"], ["e"]]);
		await eventually(
			() => received(path),
			(r) => r.length === 6,
		);
		expect((await p.stats()).dead).toBe(0);
	});
});
