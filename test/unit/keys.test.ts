import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import { api, behave, json, received, receiverUrl, uniqueName } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";
import { partitionedTopic, partitionSql } from "../partitions";

/** Message keys (README "Flow control"): where keyed messages live, and `ordering: "key"`. */

type Item = { id?: string; key?: string; body: unknown; delay?: string };

async function batch(topic: string, items: Item[]) {
	return json<{ results: { id: string; error?: { code: string } }[] } & Record<string, unknown>>(
		"POST",
		`/v1/topics/${topic}/messages/batch`,
		items,
	);
}

describe("message keys", () => {
	it("refuses a bad key with 400 and shows a good one", async () => {
		const topic = uniqueName("key");
		await partitionedTopic(topic, 1);
		for (const key of ["", "x".repeat(257), "tab\there", "é"]) {
			const res = await json("POST", `/v1/topics/${topic}/messages`, { body: 1, key });
			expect(res.status, JSON.stringify(key)).toBe(400);
		}
		const ok = await json<{ id: string }>("POST", `/v1/topics/${topic}/messages`, { body: 1, key: "customer 7" });
		expect(ok.status).toBe(201);
		const got = await json<{ key: string }>("GET", `/v1/topics/${topic}/messages/${ok.body.id}`);
		expect(got.body.key).toBe("customer 7");
	});

	it("keeps all messages of a key in the key's partition; ids still find them, and an id stays unique", async () => {
		const topic = uniqueName("keyp");
		await partitionedTopic(topic, 4);
		const ids = Array.from({ length: 12 }, (_, i) => `k-${i}`);
		const res = await batch(
			topic,
			ids.map((id) => ({ id, key: "one-key", body: id, delay: "1h" })),
		);
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		const home = partitionOf("one-key", 4);
		const stored = await partitionSql<{ n: number }>(topic, home, "SELECT COUNT(*) AS n FROM messages");
		expect(stored[0]?.n).toBe(12);
		// Some ids route elsewhere: found through their claim, for reading and for steering.
		const away = ids.filter((id) => partitionOf(id, 4) !== home);
		expect(away.length).toBeGreaterThan(0);
		for (const id of away) {
			const got = await json<{ id: string; key: string }>("GET", `/v1/topics/${topic}/messages/${id}`);
			expect(got.status, id).toBe(200);
			expect(got.body).toMatchObject({ id, key: "one-key" });
		}
		const cancel = await api("DELETE", `/v1/topics/${topic}/messages/${away[0]}`);
		expect(cancel.status).toBe(200);
		// The same id and key again: a duplicate. The same id with another key, or none: refused.
		const again = await batch(topic, [{ id: away[1] as string, key: "one-key", body: "again" }]);
		expect(JSON.stringify(again.body)).toContain('"duplicate":true');
		// Another key, or none, cannot take the id (409 id_conflict); nothing more is stored.
		const other = ["k2", "k3", "k4", "k5", "k6", "k7", "k8"].find(
			(k) => partitionOf(k, 4) !== home && partitionOf(k, 4) !== partitionOf(away[1] as string, 4),
		) as string;
		const otherKey = await batch(topic, [{ id: away[1] as string, key: other, body: "x" }]);
		expect(JSON.stringify(otherKey.body)).toContain("id_conflict");
		const noKey = await batch(topic, [{ id: away[1] as string, body: "x" }]);
		expect(JSON.stringify(noKey.body)).toContain("id_conflict");
		const after = await partitionSql<{ n: number }>(topic, home, "SELECT COUNT(*) AS n FROM messages");
		expect(after[0]?.n).toBe(12);
	});
});

describe("an id with another key in one partition", () => {
	it("is refused with 409 id_conflict as across partitions: a key for a keyless id, none for a keyed one, another key", async () => {
		const topic = uniqueName("idkey");
		await partitionedTopic(topic, 1);
		const first = await batch(topic, [
			{ id: "keyed", key: "a", body: 1, delay: "1h" },
			{ id: "plain", body: 2, delay: "1h" },
		]);
		expect(first.status, JSON.stringify(first.body)).toBe(200);
		const res = await batch(topic, [
			{ id: "keyed", key: "a", body: "same key" },
			{ id: "keyed", key: "b", body: "another key" },
			{ id: "keyed", body: "no key" },
			{ id: "plain", key: "a", body: "a key" },
			// Twice in one batch: the second, with another key, conflicts with the first.
			{ id: "fresh", key: "x", body: 3, delay: "1h" },
			{ id: "fresh", key: "y", body: 4 },
		]);
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		const results = (res.body as { results: { duplicate?: boolean; error?: { code: string } }[] }).results;
		expect(results.map((r) => r.error?.code ?? (r.duplicate ? "duplicate" : "stored"))).toEqual([
			"duplicate",
			"id_conflict",
			"id_conflict",
			"id_conflict",
			"stored",
			"id_conflict",
		]);
		const plainAgain = await json("POST", `/v1/topics/${topic}/messages`, { id: "plain", body: "none again" });
		expect(plainAgain).toMatchObject({ status: 200, body: { duplicate: true } });
		// A batch whose every item conflicts still answers per item (200), not as a whole.
		const alone = await batch(topic, [{ id: "keyed", key: "c", body: 1 }]);
		expect(alone.status).toBe(200);
		expect(JSON.stringify(alone.body)).toContain("id_conflict");
		const single = await json("POST", `/v1/topics/${topic}/messages`, { id: "keyed", key: "c", body: 1 });
		expect(single.status).toBe(409);
		expect(single.body).toMatchObject({ error: { code: "id_conflict" } });
		const stored = await json<{ key: string | null; body: unknown }>("GET", `/v1/topics/${topic}/messages/keyed`);
		expect(stored.body).toMatchObject({ key: "a", body: 1 });
		const list = await json<{ messages: { id: string; key: string | null }[] }>("GET", `/v1/topics/${topic}/messages`);
		expect(list.body.messages.map((m) => [m.id, m.key]).sort()).toEqual([
			["fresh", "x"],
			["keyed", "a"],
			["plain", null],
		]);
	});
});

describe('ordering: "key"', () => {
	it("push: one message per key at a time, in order, the head's retries holding its key; other keys go on", async () => {
		const path = `/keys/order/${uniqueName("o")}`;
		await behave(path, { status: 503 });
		const topic = uniqueName("ord");
		await partitionedTopic(topic, 1, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			ordering: "key",
			retry: { max_attempts: 20, backoff: "fixed", base: "200ms" },
		});
		const items: Item[] = [];
		for (let i = 0; i < 4; i++) {
			items.push({ id: `a-${i}`, key: "a", body: { key: "a", i } });
			items.push({ id: `b-${i}`, key: "b", body: { key: "b", i } });
		}
		items.push({ id: "free", body: { key: null, i: 0 } });
		expect((await batch(topic, items)).status).toBe(200);
		// While the receiver fails, only each key's head is tried (again and again); the unkeyed one too.
		await waitForReceived(path, 6, 5000);
		await new Promise((resolve) => setTimeout(resolve, 300));
		await behave(path, { status: 200 });
		await waitFor("all delivered", async () => {
			const sub = await json<{ counts: { delivered: number } }>("GET", `/v1/topics/${topic}/subscriptions/hook`);
			return sub.body.counts.delivered === 9 ? true : undefined;
		});
		const got = await received(path);
		for (const key of ["a", "b"]) {
			const seq = got
				.map((r) => JSON.parse(r.body) as { key: string | null; i: number })
				.filter((b) => b.key === key)
				.map((b) => b.i);
			// Non-decreasing: a message never before an earlier one was delivered (retries repeat it).
			expect(seq, key).toEqual([...seq].sort((x, y) => x - y));
			expect(new Set(seq)).toEqual(new Set([0, 1, 2, 3]));
			// The head was tried more than once before anything else of its key went.
			expect(seq.filter((i) => i === 0).length).toBeGreaterThan(1);
		}
	});

	it("pull: a key with a leased message yields nothing more of it until that one is acked", async () => {
		const topic = uniqueName("pord");
		await partitionedTopic(topic, 1, { type: "pull", ordering: "key" });
		await batch(topic, [
			{ id: "x-1", key: "x", body: 1 },
			{ id: "x-2", key: "x", body: 2 },
			{ id: "y-1", key: "y", body: 3 },
		]);
		const receive = async () =>
			(
				await json<{ messages: { id: string; receipt: string }[] }>(
					"POST",
					`/v1/topics/${topic}/subscriptions/hook/receive`,
					{ max: 10 },
				)
			).body.messages;
		const first = await receive();
		expect(first.map((m) => m.id).sort()).toEqual(["x-1", "y-1"]);
		expect(await receive()).toEqual([]);
		const x1 = first.find((m) => m.id === "x-1");
		await json("POST", `/v1/topics/${topic}/subscriptions/hook/ack`, { receipts: [x1?.receipt] });
		expect((await receive()).map((m) => m.id)).toEqual(["x-2"]);
	});

	it("push beside a paused subscription (every message stays open): still one at a time, in publish order", async () => {
		const path = `/keys/beside/${uniqueName("b")}`;
		const topic = uniqueName("bes");
		await partitionedTopic(topic, 1, { type: "webhook", url: `${receiverUrl()}${path}`, ordering: "key" });
		const paused = await json("PUT", `/v1/topics/${topic}/subscriptions/paused`, {
			type: "webhook",
			url: `${receiverUrl()}/never/${topic}`,
			paused: true,
		});
		expect(paused.status).toBe(201);
		// Three batches at once: the order they are stored in is the publish order to follow.
		await Promise.all(
			[0, 1, 2].map((b) =>
				batch(
					topic,
					Array.from({ length: 20 }, (_, i) => ({ id: `m-${b}-${i}`, key: "one", body: { b, i } })),
				),
			),
		);
		const got = await waitForReceived(path, 60, 15_000);
		const stored = await partitionSql<{ id: string }>(topic, 0, "SELECT id FROM messages ORDER BY deliver_at_ms, mid");
		expect(got.map((r) => r.headers["webhook-id"])).toEqual(stored.map((r) => r.id));
	});
});
