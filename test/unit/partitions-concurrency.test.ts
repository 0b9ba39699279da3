import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import { behave, type Received, received, receiverUrl, uniqueName } from "../helpers";
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
		// This topic's requests open when `r` arrived (each is answered 400 ms after it arrives). Not
		// the receiver's own count: other test files share the receiver and run meanwhile.
		const openAt = (r: Received, from = got) =>
			from.filter((o) => o.receivedAtMs <= r.receivedAtMs && o.receivedAtMs + 400 > r.receivedAtMs);
		const most = Math.max(...got.map((r) => openAt(r).length));
		expect(most).toBeGreaterThan(6);
		expect(most).toBeLessThanOrEqual(18);
		// Per partition: among the requests open when one arrived, at most 6 came from its partition.
		const partition = (r: Received) => partitionOf(r.headers["webhook-id"] as string, 3);
		for (const r of got) {
			expect(
				openAt(
					r,
					got.filter((o) => partition(o) === partition(r)),
				).length,
			).toBeLessThanOrEqual(6);
		}
		expect((await received(path)).length).toBe(due.length);
	});
});
