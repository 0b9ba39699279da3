import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { firingId } from "../../src/schedule/cron";
import { partitionOf } from "../../src/topic/client/routing";
import { api, json, uniqueName } from "../helpers";
import { partitionedTopic, partitionSql } from "../partitions";

/** A schedule's `key` (DESIGN.md "Schedules (cron)"): each firing publishes a keyed message. */

const MINUTE_MS = 60_000;
const schedules = () => env.SCHEDULES.getByName("~schedules");

type Schedule = { name: string; key: string | null; body: unknown; last_message_id: string | null };
type ErrorBody = { error: { code: string; message: string; issues?: { path: string }[] } };

/** Makes a schedule's firing of this minute due now (as if the object had slept through it). */
function makeDue(topic: string, name: string) {
	return runInDurableObject(schedules(), (_i, state) => {
		state.storage.sql.exec(
			"UPDATE schedules SET since_ms = since_ms - ?, next_at_ms = ? WHERE topic = ? AND name = ?",
			MINUTE_MS,
			Date.now() - 1,
			topic,
			name,
		);
	});
}

/** A key whose partition is neither the partition of this minute's firing id nor of the next one's. */
async function keyAwayFromIds(name: string, partitions: number): Promise<string> {
	const now = Date.now();
	const idHomes = new Set(
		await Promise.all([now, now + MINUTE_MS].map(async (ms) => partitionOf(await firingId(name, ms), partitions))),
	);
	const key = Array.from({ length: 50 }, (_, i) => `customer-${i}`).find(
		(k) => !idHomes.has(partitionOf(k, partitions)),
	);
	if (!key) throw new Error("no key outside the ids' partitions");
	return key;
}

describe("PUT /v1/topics/{topic}/schedules/{name} with a key", () => {
	it("shows the key in GET and list; a replacing PUT sets the new key, or none when it gives none", async () => {
		const topic = uniqueName("skey");
		await partitionedTopic(topic, 2);
		const created = await json<Schedule>("PUT", `/v1/topics/${topic}/schedules/s`, {
			cron: "* * * * *",
			body: 1,
			key: "customer 7",
		});
		expect(created.status).toBe(201);
		expect(created.body.key).toBe("customer 7");
		expect((await json<Schedule>("GET", `/v1/topics/${topic}/schedules/s`)).body.key).toBe("customer 7");
		const list = await json<{ schedules: Schedule[] }>("GET", `/v1/topics/${topic}/schedules`);
		expect(list.body.schedules.map((s) => s.key)).toEqual(["customer 7"]);

		const replaced = await json<Schedule>("PUT", `/v1/topics/${topic}/schedules/s`, {
			cron: "* * * * *",
			body: 2,
			key: "customer-8",
		});
		expect(replaced.status).toBe(200);
		expect((await json<Schedule>("GET", `/v1/topics/${topic}/schedules/s`)).body).toMatchObject({
			key: "customer-8",
			body: 2,
		});
		await json("PUT", `/v1/topics/${topic}/schedules/s`, { cron: "* * * * *", body: 3 });
		expect((await json<Schedule>("GET", `/v1/topics/${topic}/schedules/s`)).body.key).toBeNull();
	});

	it.each([
		["empty", ""],
		["too long", "x".repeat(257)],
		["a control character", "tab\there"],
		["non-ASCII", "é"],
		["not a string", 7],
	])("refuses a key that is %s with 400 naming key, creating nothing", async (_what, key) => {
		const topic = uniqueName("skeybad");
		await partitionedTopic(topic, 1);
		const res = await json<ErrorBody>("PUT", `/v1/topics/${topic}/schedules/s`, { cron: "* * * * *", body: 1, key });
		expect(res.status).toBe(400);
		expect(res.body.error.code).toBe("invalid_request");
		expect(res.body.error.issues?.map((i) => i.path)).toEqual(["key"]);
		expect((await api("GET", `/v1/topics/${topic}/schedules/s`)).status).toBe(404);
		// The same key on publish is refused the same way.
		const published = await json<ErrorBody>("POST", `/v1/topics/${topic}/messages`, { body: 1, key });
		expect(published.status).toBe(400);
		expect(published.body.error.issues?.map((i) => i.path)).toEqual(["key"]);
	});

	it("is in the OpenAPI document, on the request and on the schedule shown", async () => {
		const res = await exports.default.fetch(new Request("http://sundial.test/openapi.json"));
		const doc = (await res.json()) as {
			components: { schemas: Record<string, { properties: Record<string, { type?: unknown }> }> };
		};
		expect(doc.components.schemas.ScheduleRequest?.properties.key).toMatchObject({ type: "string" });
		expect(doc.components.schemas.Schedule?.properties.key).toBeDefined();
	});
});

describe("a keyed schedule's firing", () => {
	it("publishes its message with the key, in the key's partition, found by its id", async () => {
		const topic = uniqueName("skeyfire");
		await partitionedTopic(topic, 4);
		const key = await keyAwayFromIds("tick", 4);
		await json("PUT", `/v1/topics/${topic}/schedules/tick`, { cron: "* * * * *", body: { n: 1 }, key: "first" });
		// Replaced before it fires: the firing carries the replacing PUT's key.
		await json("PUT", `/v1/topics/${topic}/schedules/tick`, { cron: "* * * * *", body: { n: 2 }, key });
		await makeDue(topic, "tick");
		await runDurableObjectAlarm(schedules());
		const shown = (await json<Schedule>("GET", `/v1/topics/${topic}/schedules/tick`)).body;
		const id = shown.last_message_id as string;
		expect(id).toMatch(/^tick\./);
		expect(partitionOf(id, 4)).not.toBe(partitionOf(key, 4));

		// Found by id through the claim in the id's partition; stored in the key's.
		const message = await json<{ id: string; key: string; body: unknown }>("GET", `/v1/topics/${topic}/messages/${id}`);
		expect(message.status).toBe(200);
		expect(message.body).toMatchObject({ id, key, body: { n: 2 } });
		const stored = await partitionSql<{ id: string; key: string | null }>(
			topic,
			partitionOf(key, 4),
			"SELECT id, key FROM messages WHERE id = ?",
			id,
		);
		expect(stored).toEqual([{ id, key }]);

		// A repeated alarm over the same firing is a duplicate of the keyed message, not an id_conflict.
		await makeDue(topic, "tick");
		await runDurableObjectAlarm(schedules());
		const again = (await json<Schedule & { last_error: string | null }>("GET", `/v1/topics/${topic}/schedules/tick`))
			.body;
		expect(again.last_error).toBeNull();
		expect(again.last_message_id).toBe(id);
	});

	it('is ordered with the key\'s other messages for an ordering: "key" subscription', async () => {
		const topic = uniqueName("skeyord");
		await partitionedTopic(topic, 4, { type: "pull", ordering: "key" });
		await json("PUT", `/v1/topics/${topic}/schedules/tick`, { cron: "* * * * *", body: "fired", key: "k" });
		const published = await json<{ id: string }>("POST", `/v1/topics/${topic}/messages`, { body: "later", key: "k" });
		expect(published.status).toBe(201);
		await makeDue(topic, "tick");
		await runDurableObjectAlarm(schedules());
		const fired = (await json<Schedule>("GET", `/v1/topics/${topic}/schedules/tick`)).body.last_message_id as string;
		const receive = async () =>
			(
				await json<{ messages: { id: string; receipt: string }[] }>(
					"POST",
					`/v1/topics/${topic}/subscriptions/hook/receive`,
					{ max: 10 },
				)
			).body.messages;
		// The firing is due at its minute, before the message published just now: it goes first, alone.
		const first = await receive();
		expect(first.map((m) => m.id)).toEqual([fired]);
		expect(await receive()).toEqual([]);
		await json("POST", `/v1/topics/${topic}/subscriptions/hook/ack`, { receipts: [first[0]?.receipt] });
		expect((await receive()).map((m) => m.id)).toEqual([published.body.id]);
	});
});
