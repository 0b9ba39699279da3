import { describe, expect, it } from "vitest";
import { json, received, topicWithWebhook, uniqueName } from "../helpers";
import type { LinkMode } from "./probe";
import { eventually, probe, sleep } from "./support";

/**
 * A committed message reaches Sundial exactly once even when the first send's outcome never gets
 * recorded: the rows stay, the next run sends them again under the same ids, and Sundial answers
 * duplicate. Checked on what Sundial stores and what its webhook receiver gets.
 */
async function sentTwiceStoredOnce(mode: LinkMode) {
	const topic = uniqueName(`outbox-${mode}`);
	const path = `/hook/${topic}`;
	await topicWithWebhook(topic, path);
	const name = uniqueName("probe");
	await probe(name).configure(mode);

	const id = await probe(name).placeOrder("o-1", topic, { body: { order: 1 } });
	expect(typeof id).toBe("string");
	// A fresh stub per call: a stub whose object was aborted stays broken.
	const sends = await eventually(
		() => probe(name).sends(),
		(s) => s.length >= 2,
	);
	await eventually(
		() => probe(name).stats(),
		(s) => s.pending === 0,
	);
	const p = probe(name);

	// First send: stored; the outcome was lost (crash / lost answer), so the row stayed and was sent again.
	expect(sends[0]).toEqual({ topic, ids: [id], replies: [{ id, deliver_at: expect.any(String) }] });
	const first = sends[0]?.replies[0] as { deliver_at: string };
	expect(sends[1]).toEqual({ topic, ids: [id], replies: [{ id, deliver_at: first.deliver_at, duplicate: true }] });

	await eventually(
		() => received(path),
		(r) => r.length === 1,
	);
	await sleep(300);
	expect((await received(path)).map((r) => r.headers["webhook-id"])).toEqual([id]);
	const stored = await json<{ messages: { id: string }[] }>("GET", `/v1/topics/${topic}/messages`);
	expect(stored.body.messages.map((m) => m.id)).toEqual([id]);
	expect(await p.stats()).toEqual({ pending: 0, dead: 0, topics: [] });
	expect(await p.orderIds()).toEqual(["o-1"]);
}

describe("a committed message is published exactly once", () => {
	it("when the object crashes after sending and before deleting", async () => {
		await sentTwiceStoredOnce("crash");
	});

	it("when Sundial's answer is lost after it stored the batch", async () => {
		await sentTwiceStoredOnce("lose-answer");
	});
});
