import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, json, receiverUrl, uniqueName } from "../helpers";
import { message, publishParked, runAlarm, stubOf } from "../lifecycle";

/** A queue subscription sends due messages in sendBatch calls of up to 100, beside other subscriptions too. */

async function batchSizes(withNeighbour: boolean): Promise<number[]> {
	const topic = uniqueName("fq");
	await api("PUT", `/v1/topics/${topic}`, {});
	expect(
		(await json("PUT", `/v1/topics/${topic}/subscriptions/q`, { type: "queue", queue: "EXAMPLE_QUEUE" })).status,
	).toBe(201);
	const now = Date.now();
	await publishParked(
		topic,
		Array.from({ length: 40 }, (_, i) => message(`m-${i}`, now)),
	);
	// A second (idle) push subscription: it has none of these messages.
	if (withNeighbour) {
		const res = await json("PUT", `/v1/topics/${topic}/subscriptions/w`, {
			type: "webhook",
			url: `${receiverUrl()}/never/${topic}`,
		});
		expect(res.status).toBe(201);
	}
	const sizes: number[] = [];
	let restore = () => {};
	await runInDurableObject(stubOf(topic), (instance) => {
		const q = (instance as unknown as { env: { EXAMPLE_QUEUE: Queue } }).env.EXAMPLE_QUEUE;
		const own = q.sendBatch;
		const original = own.bind(q);
		(q as { sendBatch: Queue["sendBatch"] }).sendBatch = (msgs, opts) => {
			sizes.push([...msgs].length);
			return original(msgs, opts);
		};
		restore = () => {
			(q as { sendBatch: Queue["sendBatch"] }).sendBatch = own;
		};
	});
	try {
		expect(await runAlarm(topic)).toBe(true);
	} finally {
		await runInDurableObject(stubOf(topic), () => restore());
	}
	return sizes;
}

describe("isolation and queue subscriptions", () => {
	it("adding an idle webhook subscription does not split a queue subscription's sends into batches of 5", async () => {
		const alone = await batchSizes(false);
		const beside = await batchSizes(true);
		expect({ alone, beside }).toEqual({ alone: [40], beside: [40] });
	});
});
