import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { unwrap } from "../../src/errors";
import { partitionOf } from "../../src/topic/client/routing";
import type { TopicObject } from "../../src/topic/object";
import { json, receiverUrl, uniqueName } from "../helpers";
import { partitionSql, partitionStub } from "../partitions";

/** Id claims of keyed messages stored outside their id's partition (cases found by review). */

const P = 4;

/** An id and two keys: each key's partition differs from the id's and from each other. */
function pick() {
	const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
	for (let i = 0; i < 50; i++) {
		const id = `msg-${i}`;
		const own = partitionOf(id, P);
		const away = keys.filter((k) => partitionOf(k, P) !== own);
		const k1 = away[0] as string;
		const k2 = away.find((k) => partitionOf(k, P) !== partitionOf(k1, P));
		if (k2) return { id, own, k1, k2 };
	}
	throw new Error("no pick");
}

async function topicWith(retention: string, sub: Record<string, unknown>) {
	const topic = uniqueName("claim");
	expect((await json("PUT", `/v1/topics/${topic}`, { partitions: P, retention })).status).toBe(201);
	expect((await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, sub)).status).toBe(201);
	return topic;
}

/** Runs partition p's alarm now (what any alarm run of that partition does: dispatch, then maintenance). */
async function runAlarmOf(topic: string, p: number) {
	await runInDurableObject(partitionStub(topic, p), (_i, state) => state.storage.setAlarm(Date.now() + 60_000));
	await runDurableObjectAlarm(partitionStub(topic, p));
}

describe("id claims", () => {
	it("a keyed message still pending (paused subscription) is found by id after maintenance ran in its id's partition", async () => {
		const { id, own, k1, k2 } = pick();
		// Retention 1 h; the message is due 3 days ago (as if published 3 days ago with a receiver that
		// was paused or failing since): it is still scheduled, so it must stay findable and its id taken.
		const topic = await topicWith("1h", {
			type: "webhook",
			url: `${receiverUrl()}/never/${uniqueName("x")}`,
			paused: true,
		});
		const dueMs = Date.now() - 3 * 86_400_000;
		const pub = await json("POST", `/v1/topics/${topic}/messages`, {
			id,
			key: k1,
			body: 1,
			deliver_at: new Date(dueMs).toISOString(),
		});
		expect(pub.status).toBe(201);
		expect((await json("GET", `/v1/topics/${topic}/messages/${id}`)).status).toBe(200);
		await runAlarmOf(topic, own);
		const got = await json<{ deliveries: { state: string }[] }>("GET", `/v1/topics/${topic}/messages/${id}`);
		// And the id must not be reusable by another key while the first message lives.
		const again = await json("POST", `/v1/topics/${topic}/messages`, { id, key: k2, body: 2 });
		const copies = (
			await Promise.all(
				Array.from({ length: P }, (_, p) => partitionSql(topic, p, "SELECT 1 FROM messages WHERE id = ?", id)),
			)
		).flat().length;
		expect({ getStatus: got.status, republishStatus: again.status, storedCopies: copies }).toEqual({
			getStatus: 200,
			republishStatus: 409,
			storedCopies: 1,
		});
	});

	it("a claim past its end is checked with its partition: kept while the message lives, dropped once it is gone", async () => {
		const { id, own, k1 } = pick();
		const topic = await topicWith("1h", { type: "webhook", url: `${receiverUrl()}/never/${uniqueName("x")}` });
		expect((await json("POST", `/v1/topics/${topic}/messages`, { id, key: k1, body: 1, delay: "1h" })).status).toBe(
			201,
		);
		// Rescheduled far ahead: the claim's first end comes long before the message's.
		const at = new Date(Date.now() + 300 * 86_400_000).toISOString();
		expect((await json("POST", `/v1/topics/${topic}/messages/${id}/reschedule`, { deliver_at: at })).status).toBe(200);
		const expire = () => partitionSql(topic, own, "UPDATE id_claims SET until_ms = ? WHERE id = ?", Date.now() - 1, id);
		await expire();
		await runAlarmOf(topic, own);
		const [claim] = await partitionSql<{ until_ms: number }>(
			topic,
			own,
			"SELECT until_ms FROM id_claims WHERE id = ?",
			id,
		);
		expect(claim?.until_ms ?? 0).toBeGreaterThan(Date.now());
		expect((await json("GET", `/v1/topics/${topic}/messages/${id}`)).status).toBe(200);
		// Gone from its partition: the claim goes too.
		await partitionSql(
			topic,
			partitionOf(k1, P),
			"DELETE FROM deliveries WHERE mid IN (SELECT mid FROM messages WHERE id = ?)",
			id,
		);
		await partitionSql(topic, partitionOf(k1, P), "DELETE FROM messages WHERE id = ?", id);
		await expire();
		await runAlarmOf(topic, own);
		expect(await partitionSql(topic, own, "SELECT 1 FROM id_claims WHERE id = ?", id)).toEqual([]);
	});

	it("a claim left by a failed half-publish: the id is refused without its key, and stored when published again with it", async () => {
		const { id, own, k1 } = pick();
		const topic = await topicWith("7d", { type: "webhook", url: `${receiverUrl()}/never/${uniqueName("x")}` });
		// Step 1 of a keyed publish (client/messages.ts claimIds) succeeded; step 2 (the store in the
		// key's partition) then failed (e.g. the object was overloaded/reset): the client got an error.
		const route = { partitions: P };
		await runInDurableObject(partitionStub(topic, own), async (instance: TopicObject) =>
			unwrap(await instance.claimIds(route, [{ id, partition: partitionOf(k1, P), deliverAtMs: Date.now() }])),
		);
		// A publish of the id without the key is refused (the id is taken), never a silent "duplicate".
		const retry = await json<{ error?: { code: string } }>("POST", `/v1/topics/${topic}/messages`, { id, body: 1 });
		expect(retry.status).toBe(409);
		expect(retry.body.error?.code).toBe("id_conflict");
		// Published again as it was (with its key), it is stored and found.
		expect((await json("POST", `/v1/topics/${topic}/messages`, { id, key: k1, body: 1 })).status).toBe(201);
		expect((await json("GET", `/v1/topics/${topic}/messages/${id}`)).status).toBe(200);
	});

	it("the same id without the key is refused (409); with the key it is a duplicate carrying the original deliver_at", async () => {
		const { id, own, k1 } = pick();
		void own;
		const topic = await topicWith("7d", { type: "webhook", url: `${receiverUrl()}/never/${uniqueName("x")}` });
		const first = await json<{ deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, {
			id,
			key: k1,
			body: 1,
			delay: "1h",
		});
		expect(first.status).toBe(201);
		const unkeyed = await json("POST", `/v1/topics/${topic}/messages`, { id, body: 1, delay: "2h" });
		expect(unkeyed.status).toBe(409);
		const dup = await json<{ deliver_at: string; duplicate?: boolean }>("POST", `/v1/topics/${topic}/messages`, {
			id,
			key: k1,
			body: 1,
			delay: "2h",
		});
		expect(dup.body.duplicate).toBe(true);
		expect(dup.body.deliver_at).toBe(first.body.deliver_at);
	});

	it("an id repeated within a batch: the first item is stored, the repeat is the duplicate (unkeyed, then keyed elsewhere)", async () => {
		const { id, k1 } = pick();
		const topic = await topicWith("7d", { type: "webhook", url: `${receiverUrl()}/never/${uniqueName("x")}` });
		const res = await json<{ results: Record<string, unknown>[] }>("POST", `/v1/topics/${topic}/messages/batch`, [
			{ id, body: "first", delay: "1h" },
			{ id, key: k1, body: "second", delay: "1h" },
		]);
		expect(res.status).toBe(200);
		const got = await json<{ key: string | null }>("GET", `/v1/topics/${topic}/messages/${id}`);
		expect({
			first: res.body.results[0]?.duplicate ?? false,
			storedKey: got.body.key,
		}).toEqual({ first: false, storedKey: null });
	});
});
