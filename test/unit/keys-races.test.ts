import { describe, expect, it } from "vitest";
import { behave, json, received, receiverUrl, uniqueName } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";
import { partitionedTopic } from "../partitions";

/** `ordering: "key"` never has two deliveries of one key in flight at once, whatever moves a message (found by review). */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ordering: "key", one at a time against races', () => {
	it("a message published with an earlier deliver_at does not start while a later one of its key is in flight", async () => {
		const path = `/keys-races/ord-past/${uniqueName("o")}`;
		await behave(path, { status: 200, delayMs: 3000 });
		const topic = uniqueName("rord");
		await partitionedTopic(topic, 1, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			ordering: "key",
			timeout: "10s",
		});
		expect((await json("POST", `/v1/topics/${topic}/messages`, { id: "m1", key: "k", body: 1 })).status).toBe(201);
		await waitForReceived(path, 1, 3000);
		// A second publisher's message of the same key with a due time before m1's (a past deliver_at,
		// or simply a publish whose front end read the clock earlier than m1's did).
		const past = new Date(Date.now() - 60_000).toISOString();
		const res = await json("POST", `/v1/topics/${topic}/messages`, { id: "m2", key: "k", body: 2, deliver_at: past });
		expect(res.status).toBe(201);
		await sleep(1000);
		// m1's request is still open (3 s) : nothing more of key "k" may have been sent.
		const got = await received(path);
		expect(got.map((r) => r.body)).toEqual(["1"]);
	});

	it("redriving a dead earlier message does not start it while a later one of its key is in flight", async () => {
		const fail = `/keys-races/ord-redrive-fail/${uniqueName("o")}`;
		const topic = uniqueName("rord2");
		await behave(fail, { status: 500 });
		await partitionedTopic(topic, 1, {
			type: "webhook",
			url: `${receiverUrl()}${fail}`,
			ordering: "key",
			timeout: "10s",
			retry: { max_attempts: 1 },
		});
		expect((await json("POST", `/v1/topics/${topic}/messages`, { id: "m1", key: "k", body: 1 })).status).toBe(201);
		await waitFor("m1 dead", async () => {
			const sub = await json<{ counts: { dead: number } }>("GET", `/v1/topics/${topic}/subscriptions/hook`);
			return sub.body.counts.dead === 1 ? true : undefined;
		});
		// Now the receiver hangs; m2 goes out and stays in flight.
		await behave(fail, { status: 200, delayMs: 3000 });
		expect((await json("POST", `/v1/topics/${topic}/messages`, { id: "m2", key: "k", body: 2 })).status).toBe(201);
		await waitForReceived(fail, 2, 3000);
		const redrive = await json("POST", `/v1/topics/${topic}/subscriptions/hook/dead/redrive`, { ids: ["m1"] });
		expect(redrive.status).toBe(200);
		await sleep(1000);
		const got = await received(fail);
		// m1 (failed once), m2 (in flight for 3 s): m1 must not be sent again before m2 is answered.
		expect(got.map((r) => r.body)).toEqual(["1", "2"]);
	});

	it("rescheduling an in-flight message (scheduled for another subscription) does not let the next of its key start", async () => {
		const path = `/keys-races/ord-resched/${uniqueName("o")}`;
		await behave(path, { status: 200, delayMs: 3000 });
		const topic = uniqueName("rord3");
		await partitionedTopic(topic, 1, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			ordering: "key",
			timeout: "10s",
		});
		// A second subscription, paused: m1 keeps a scheduled delivery there, so it can be rescheduled.
		const other = await json("PUT", `/v1/topics/${topic}/subscriptions/other`, {
			type: "webhook",
			url: `${receiverUrl()}/never/${topic}`,
			paused: true,
		});
		expect(other.status).toBe(201);
		const res = await json("POST", `/v1/topics/${topic}/messages/batch`, [
			{ id: "m1", key: "k", body: 1 },
			{ id: "m2", key: "k", body: 2 },
		]);
		expect(res.status).toBe(200);
		await waitForReceived(path, 1, 3000);
		const at = new Date(Date.now() + 3_600_000).toISOString();
		expect((await json("POST", `/v1/topics/${topic}/messages/m1/reschedule`, { deliver_at: at })).status).toBe(200);
		await sleep(1000);
		// m1 is still in flight to "hook" (3 s): m2 must wait for it.
		expect((await received(path)).map((r) => r.body)).toEqual(["1"]);
	});

	it("pull, ordered: a receive of max 10 is not cut to one message because one key has many due", async () => {
		const topic = uniqueName("rpord");
		await partitionedTopic(topic, 1, { type: "pull", ordering: "key" });
		const items = [
			...Array.from({ length: 10 }, (_, i) => ({ id: `x-${i}`, key: "x", body: i })),
			{ id: "y-0", key: "y", body: 100 },
			{ id: "free", body: 200 },
		];
		expect((await json("POST", `/v1/topics/${topic}/messages/batch`, items)).status).toBe(200);
		const got = await json<{ messages: { id: string }[] }>("POST", `/v1/topics/${topic}/subscriptions/hook/receive`, {
			max: 10,
		});
		expect(got.body.messages.map((m) => m.id).sort()).toEqual(["free", "x-0", "y-0"]);
	});
});
