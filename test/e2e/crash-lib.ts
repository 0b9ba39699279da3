import { expect } from "vitest";
import type { ReceivedRequest, Receiver } from "../support/receiver.js";
import { byWebhookId, describeMissing, pollUntil, type Sundial, sleep } from "./lib.js";

interface Counts {
	scheduled: number;
	in_flight: number;
	delivered: number;
	dead: number;
}

/**
 * After a restart of a killed runtime: waits (with no API call, so only the persisted alarms can
 * resume delivery) until every one of `ids` reached the receiver on `path`, then until the
 * subscription `hook` counts all of them delivered and nothing else, and a little longer for a
 * straggling duplicate. Asserts no id is missing and every duplicate is a later attempt of the same
 * message with the same body. Returns how long recovery took and the requests by message id.
 */
export async function expectRecovery(
	sundial: Sundial,
	receiver: Receiver,
	o: { topic: string; path: string; ids: readonly string[]; restartedMs: number; arriveMs: number; recordMs: number },
): Promise<{ recoveredMs: number; got: Map<string, ReceivedRequest[]>; repeated: [string, ReceivedRequest[]][] }> {
	const requests = () => receiver.received.filter((r) => r.path === o.path);
	await receiver
		.waitFor(() => byWebhookId(requests()).size >= o.ids.length, o.arriveMs)
		.catch(async (error: unknown) => {
			throw new Error(`${error}\n${await describeMissing(sundial, o.topic, o.ids, receiver, o.path)}`);
		});
	const recoveredMs = Date.now() - o.restartedMs;
	// Every attempt is recorded by the time the counts settle; nothing is left scheduled, in flight or dead.
	const counts = await pollUntil(
		async () => {
			const res = await sundial.api<{ counts: Counts }>("GET", `/v1/topics/${o.topic}/subscriptions/hook`);
			return res.status === 200 && res.body.counts.delivered === o.ids.length ? res.body.counts : null;
		},
		o.recordMs,
		`all ${o.ids.length} deliveries recorded as delivered`,
		200,
	);
	expect(counts).toEqual({ scheduled: 0, in_flight: 0, delivered: o.ids.length, dead: 0 });
	await sleep(500); // a straggling duplicate would land now
	const got = byWebhookId(requests());
	expect(
		o.ids.filter((id) => !got.has(id)),
		"no message id is missing",
	).toEqual([]);
	expect(got.size).toBe(o.ids.length);
	// At-least-once: a duplicate is a redelivery of the same message as a later attempt, never a copy of one.
	const repeated = [...got].filter(([, list]) => list.length > 1);
	for (const [id, list] of repeated) {
		const attempts = list.map((r) => Number(r.headers["sundial-attempt"]));
		expect(new Set(attempts).size, `${id}: each delivery of it is a new attempt`).toBe(list.length);
		expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
		for (const r of list) expect(r.body).toBe(list[0]?.body);
	}
	return { recoveredMs, got, repeated };
}
