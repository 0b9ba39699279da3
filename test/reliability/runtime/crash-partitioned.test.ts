import { describe, expect, it } from "vitest";
import { expectRecovery } from "../../e2e/crash-lib.js";
import { useSundial } from "../../e2e/fixture.js";
import { byWebhookId, pollUntil, publishBatch, type Sundial } from "../../e2e/lib.js";
import type { Receiver } from "../../support/receiver.js";

/**
 * SIGKILL of the runtime mid-delivery of 10,000 messages across a partitioned topic (issue 14,
 * reliability suite): nothing is lost, and duplicates (attempts that reached the receiver but whose
 * outcome the dead runtime never recorded) are counted, reported and bounded by what a partition
 * holds unrecorded at once: one claimed batch plus the requests on the wire.
 */

const TOPIC = "crash-partitioned";
const PATH = "/crash-partitioned";
const COUNT = 10_000;
const PARTITIONS = 4;
/**
 * Most delivered-but-unrecorded attempts per partition: a claimed batch (src/topic/dispatcher.ts
 * CLAIM_BATCH, 48; not imported: that module is typed for workerd) and its 6 slots.
 */
const UNRECORDED_PER_PARTITION = 48 + 6;

describe("SIGKILL mid-delivery of a partitioned topic", () => {
	let sundial: Sundial;
	let receiver: Receiver;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
	});

	it(`loses none of ${COUNT} messages over ${PARTITIONS} partitions, and reports the duplicates`, async () => {
		const t = await sundial.api("PUT", `/v1/topics/${TOPIC}`, { partitions: PARTITIONS });
		expect(t.status).toBe(201);
		// Timeout 2 s: an interrupted attempt's lease ends soon, so it is retried within the test.
		const s = await sundial.api("PUT", `/v1/topics/${TOPIC}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiver.url}${PATH}`,
			timeout: "2s",
		});
		expect(s.status).toBe(201);
		receiver.behaviour(PATH, { status: 200, delayMs: 2 });

		// Due 3 s … 8 s from now, spread evenly; published in batches of 1,000 a few at once.
		const startMs = Date.now() + 3000;
		const items = Array.from({ length: COUNT }, (_, i) => ({
			id: `k-${String(i).padStart(5, "0")}`,
			body: { i },
			deliver_at: new Date(startMs + Math.round((5000 * i) / (COUNT - 1))).toISOString(),
		}));
		const batches = Array.from({ length: COUNT / 1000 }, (_, b) => items.slice(b * 1000, (b + 1) * 1000));
		const results = await Promise.all(batches.map((batch) => publishBatch(sundial, TOPIC, batch)));
		const ids = results.flat().map((r) => r.id);
		console.log(`crash-partitioned: published ${ids.length} in ${Date.now() - startMs + 3000} ms`);
		expect(ids).toEqual(items.map((m) => m.id));
		const requests = () => receiver.received.filter((r) => r.path === PATH);
		const unique = () => byWebhookId(requests()).size;

		// Kill once about 30 % arrived, with deliveries under way in every partition.
		await pollUntil(() => unique() >= COUNT * 0.3, 30_000, "30 % of the messages arriving before the crash", 2);
		await sundial.worker.kill();
		const atKill = unique();
		const requestsAtKill = requests().length;
		expect(atKill).toBeLessThan(COUNT * 0.6);

		const restartedMs = Date.now();
		console.log(`crash-partitioned: killed after ${atKill} had arrived; restarting`);
		await sundial.restart();
		const { recoveredMs, repeated } = await expectRecovery(sundial, receiver, {
			topic: TOPIC,
			path: PATH,
			ids,
			restartedMs,
			arriveMs: 120_000,
			recordMs: 30_000,
		});
		const total = requests().length;
		const duplicates = total - COUNT;
		console.log(
			`crash-partitioned: SIGKILL after ${atKill}/${COUNT} (${((100 * atKill) / COUNT).toFixed(1)} %) had arrived ` +
				`(${requestsAtKill} requests); all ${COUNT} ids ${recoveredMs} ms after the restart began; ` +
				`${duplicates} duplicate(s) over ${repeated.length} id(s), bound ${PARTITIONS * UNRECORDED_PER_PARTITION}`,
		);
		expect(duplicates).toBeLessThanOrEqual(PARTITIONS * UNRECORDED_PER_PARTITION);
	}, 300_000);
});
