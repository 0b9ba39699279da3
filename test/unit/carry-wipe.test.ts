import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AttemptRecord } from "../../src/topic/store";
import { behave, json, receiverUrl, uniqueName } from "../helpers";
import { deliveryRow, sql, stubOf, waitFor } from "../lifecycle";

/**
 * An attempt carried past its alarm run (src/topic/partition.ts `carry`) whose topic is deleted and
 * created again before it ends: the new topic's ids start over, so the old outcome names a delivery
 * of the new topic. It must be dropped, not recorded on that delivery.
 */

async function topicWithSlowHook(topic: string, path: string): Promise<void> {
	expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
	const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
		type: "webhook",
		url: `${receiverUrl()}${path}`,
	});
	expect(sub.status).toBe(201);
}

describe("a carried attempt across a topic's deletion", () => {
	it("drops the old outcome instead of recording it on the new topic's delivery with the same ids", async () => {
		const topic = uniqueName("carry-wipe");
		const path = `/carry-wipe/${topic}`;
		await behave(path, { status: 200, delayMs: 3000 });
		await topicWithSlowHook(topic, path);
		let answer: (records: AttemptRecord[]) => void = () => {};
		const old = new Promise<AttemptRecord[]>((resolve) => (answer = resolve));
		await runInDurableObject(stubOf(topic), (instance) => {
			(instance as unknown as { carry(attempt: Promise<AttemptRecord[]>): void }).carry(old);
		});
		expect((await json("DELETE", `/v1/topics/${topic}`)).status).toBe(200);
		await topicWithSlowHook(topic, path);
		expect((await json("POST", `/v1/topics/${topic}/messages`, { id: "m1", body: {} })).status).toBe(201);
		const inFlight = await waitFor("the new message in flight", async () => {
			const row = await deliveryRow(topic, "m1");
			return row.state === "in_flight" ? row : undefined;
		});
		const [ids] = await sql<{ mid: number; sid: number }>(
			topic,
			"SELECT d.mid, d.sid FROM deliveries d JOIN messages m ON m.mid = d.mid WHERE m.id = 'm1'",
		);
		// The old topic's attempt ends now, naming exactly the new delivery's mid, sid and lease.
		answer([
			{
				kind: "delivered",
				mid: ids?.mid as number,
				sid: ids?.sid as number,
				lease: inFlight.lease,
				messageId: "old",
				attempt: 1,
				status: 200,
				atMs: Date.now(),
			},
		]);
		await new Promise((r) => setTimeout(r, 200));
		expect((await deliveryRow(topic, "m1")).state).toBe("in_flight");
	});
});
