import { describe, expect, it } from "vitest";
import { json, received, topicWithWebhook, uniqueName } from "../helpers";
import { eventually, probe, sleep } from "./support";

/** The messages Sundial holds for a topic (ids only). */
async function storedIds(topic: string): Promise<string[]> {
	const res = await json<{ messages: { id: string }[] }>("GET", `/v1/topics/${topic}/messages?limit=100`);
	expect(res.status).toBe(200);
	return res.body.messages.map((m) => m.id).sort();
}

describe("publishing inside the object's transaction", () => {
	it("publishes nothing when the transaction rolls back", async () => {
		const topic = uniqueName("outbox-rollback");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const p = probe(uniqueName("probe"));

		expect(await p.placeOrder("o-1", topic, { id: "rolled-back", body: { order: 1 } }, true)).toEqual({
			thrown: "Error: the order was refused after publishing (test)",
		});
		expect(await p.orderIds()).toEqual([]);
		expect(await p.stats()).toEqual({ pending: 0, dead: 0, topics: [] });
		expect(await p.getAlarm()).toBeNull();

		// A committed order afterwards goes through, and it alone.
		await p.placeOrder("o-2", topic, { id: "committed", body: { order: 2 } });
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0,
		);
		await eventually(
			() => received(`/hook/${topic}`),
			(r) => r.length === 1,
		);
		await sleep(300);
		const deliveries = await received(`/hook/${topic}`);
		expect(deliveries.map((d) => d.headers["webhook-id"])).toEqual(["committed"]);
		expect(await storedIds(topic)).toEqual(["committed"]);
		expect((await json("GET", `/v1/topics/${topic}/messages/rolled-back`)).status).toBe(404);
		expect(await p.orderIds()).toEqual(["o-2"]);
	});
});
