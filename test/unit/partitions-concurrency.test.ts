import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import { behave, received, receiverUrl, uniqueName } from "../helpers";
import { waitForReceived } from "../lifecycle";
import { partitionedTopic, publishBatch } from "../partitions";

describe("webhook requests in flight per topic", () => {
	it("a topic with 3 partitions has more than 6 in flight, never more than 6 per partition", async () => {
		const topic = uniqueName("pconc");
		const path = `/slow/${topic}`;
		await behave(path, { status: 200, delayMs: 400 });
		await partitionedTopic(topic, 3, { type: "webhook", url: `${receiverUrl()}${path}` });
		const ids = Array.from({ length: 300 }, (_, i) => `c-${i}`);
		// 12 due at once in each partition: more than 6 each, so every partition fills its 6 slots.
		const due = [0, 1, 2].flatMap((p) => ids.filter((id) => partitionOf(id, 3) === p).slice(0, 12));
		await publishBatch(
			topic,
			due.map((id) => ({ id, body: id })),
		);
		const got = await waitForReceived(path, due.length, 20_000);
		const most = Math.max(...got.map((r) => r.activeAtArrival));
		expect(most).toBeGreaterThan(6);
		expect(most).toBeLessThanOrEqual(18);
		// Per partition: among the requests open when one arrived, at most 6 came from its partition.
		for (const r of got) {
			const p = partitionOf(r.headers["webhook-id"] as string, 3);
			const open = got.filter(
				(o) =>
					partitionOf(o.headers["webhook-id"] as string, 3) === p &&
					o.receivedAtMs <= r.receivedAtMs &&
					o.receivedAtMs + 400 > r.receivedAtMs,
			);
			expect(open.length).toBeLessThanOrEqual(6);
		}
		expect((await received(path)).length).toBe(due.length);
	});
});
