import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { migrate, SCHEMA_VERSION } from "../../src/topic/schema";
import { scopedToken } from "../dash-fixtures";
import { dash, signIn } from "../dash-helpers";
import { json, receiverUrl, uniqueName } from "../helpers";
import { settled } from "../metrics";
import { partitionedTopic, publishBatch } from "../partitions";

/** Publish and delivery totals (issue 15): on the topic view, and in the dashboard's JSON for its rates. */

type Totals = { name: string; published_total: number; delivered_total: number; read_at_ms: number };

/** A 2-partition topic whose `hook` delivered `n` messages (ids m0…), one more published with a 1 h delay. */
async function deliveredTopic(n: number): Promise<string> {
	const topic = uniqueName("rates");
	await partitionedTopic(topic, 2, { type: "webhook", url: `${receiverUrl()}/rates/ok/${topic}` });
	await publishBatch(
		topic,
		Array.from({ length: n }, (_, i) => ({ id: `m${i}`, body: { i } })),
	);
	expect(await settled(topic, "hook")).toMatchObject({ delivered: n });
	// Duplicates refused by id are not published; the later message is.
	const again = await publishBatch(topic, [
		{ id: "m0", body: 0 },
		{ id: "m1", body: 1 },
		{ id: "later", body: 2, delay: "1h" },
	]);
	expect(again).toHaveLength(3);
	return topic;
}

const totalsJson = async (query: string, session: Awaited<ReturnType<typeof signIn>>) => {
	const res = await dash(`/dash/topics.json?${query}`, { session });
	expect(res.status).toBe(200);
	expect(res.headers.get("content-type")).toContain("application/json");
	expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
	return ((await res.json()) as { topics: Totals[] }).topics;
};

describe("publish and delivery totals", () => {
	it("counts messages published (not duplicates) and attempts delivered, summed over partitions", async () => {
		const topic = await deliveredTopic(5);
		const view = await json<{ published_total: number; delivered_total: number; messages: number }>(
			"GET",
			`/v1/topics/${topic}`,
		);
		expect(view.status).toBe(200);
		expect(view.body).toMatchObject({ published_total: 6, delivered_total: 5, messages: 6 });
		// The PUT answer is the same view.
		const put = await json<{ published_total: number }>("PUT", `/v1/topics/${topic}`, { partitions: 2 });
		expect(put.body.published_total).toBe(6);
	});

	it("keeps the published count by trigger: v11 starts it from the stored messages, a duplicate id adds nothing", async () => {
		const stub = env.TOPIC.getByName(`${uniqueName("v11")}#0`);
		const counts = await runInDurableObject(stub, (_instance, state) => {
			const sql = state.storage.sql;
			const published = () => sql.exec<{ n: number }>("SELECT n FROM totals WHERE name = 'published'").one().n;
			const insert = (id: string) =>
				sql.exec(
					"INSERT INTO messages (id, body, content_type, deliver_at_ms, published_at_ms) VALUES (?, '1', 'application/json', 0, 0) ON CONFLICT(id) DO NOTHING",
					id,
				);
			// Back to v10 with two messages stored, then migrated again.
			sql.exec("DROP TRIGGER messages_published; DELETE FROM totals WHERE name = 'published'");
			sql.exec("UPDATE meta SET value = '10' WHERE key = 'schema_version'");
			insert("a");
			insert("b");
			const version = migrate(state.storage);
			const seeded = published();
			insert("c");
			insert("a");
			return { version, seeded, after: published() };
		});
		expect(counts).toEqual({ version: SCHEMA_VERSION, seeded: 2, after: 3 });
	});

	it("answers the totals to a session as JSON, with the time read; the pages carry them for the script", async () => {
		const topic = await deliveredTopic(3);
		const session = await signIn();
		const before = Date.now();
		const topics = await totalsJson(`topic=${topic}&topic=${topic}`, session);
		expect(topics).toEqual([{ name: topic, published_total: 4, delivered_total: 3, read_at_ms: expect.any(Number) }]);
		expect(topics[0]?.read_at_ms).toBeGreaterThanOrEqual(before - 1000);

		const page = await (await dash(`/dash/topics/${topic}`, { session })).text();
		expect(page).toMatch(
			new RegExp(
				`<span class="rate" data-rate="published" data-topic="${topic}" data-total="4" data-read-at-ms="\\d+"[^>]*>…</span>`,
			),
		);
		expect(page).toMatch(new RegExp(`data-rate="delivered" data-topic="${topic}" data-total="3"`));
	});

	it("refuses without a session (401) and leaves out topics the token may not read", async () => {
		const mine = await deliveredTopic(1);
		const other = await deliveredTopic(1);
		expect((await dash(`/dash/topics.json?topic=${mine}`)).status).toBe(401);

		const reader = await signIn(await scopedToken(["read"], [mine]));
		expect((await totalsJson(`topic=${mine}&topic=${other}`, reader)).map((t) => t.name)).toEqual([mine]);
		const publisher = await signIn(await scopedToken(["publish"], [mine, other]));
		expect(await totalsJson(`topic=${mine}`, publisher)).toEqual([]);
		// An unknown topic is left out too; a bad name or no topic is a 400.
		expect(await totalsJson(`topic=${uniqueName("gone")}`, reader)).toEqual([]);
		expect((await dash("/dash/topics.json?topic=a%20b", { session: reader })).status).toBe(400);
		expect((await dash("/dash/topics.json", { session: reader })).status).toBe(400);
	});
});
