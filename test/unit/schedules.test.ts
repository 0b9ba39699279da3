import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, json, receiverUrl, uniqueName } from "../helpers";
import { partitionedTopic } from "../partitions";

const MINUTE_MS = 60_000;
const schedules = () => env.SCHEDULES.getByName("~schedules");

type Schedule = {
	name: string;
	cron: string;
	timezone: string;
	paused: boolean;
	next_at: string | null;
	last_at: string | null;
	last_message_id: string | null;
	last_error: string | null;
	body: unknown;
};
type ErrorBody = { error: { code: string; issues?: { path: string }[] } };

/** Moves a schedule's clock back `minutes`: as if the object had slept through that many firings. */
function rewind(topic: string, name: string, minutes: number) {
	return runInDurableObject(schedules(), (_i, state) => {
		const back = minutes * MINUTE_MS;
		state.storage.sql.exec(
			"UPDATE schedules SET since_ms = since_ms - ?, next_at_ms = next_at_ms - ? WHERE topic = ? AND name = ?",
			back,
			back,
			topic,
			name,
		);
	});
}

async function messageIds(topic: string): Promise<string[]> {
	const res = await json<{ messages: { id: string }[] }>("GET", `/v1/topics/${topic}/messages?limit=1000`);
	return res.body.messages.map((m) => m.id).sort();
}

describe("PUT /v1/topics/{topic}/schedules/{name}", () => {
	it("creates (201) and replaces (200) a schedule; GET one and list show next_at at the next matching minute", async () => {
		const topic = uniqueName("sched");
		await partitionedTopic(topic, 2);
		const before = Date.now();
		const created = await json<Schedule>("PUT", `/v1/topics/${topic}/schedules/every-minute`, {
			cron: "* * * * *",
			body: { hello: "cron" },
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			name: "every-minute",
			cron: "* * * * *",
			timezone: "UTC",
			paused: false,
			last_at: null,
			last_message_id: null,
			body: { hello: "cron" },
		});
		const next = Date.parse(created.body.next_at as string);
		expect(next % MINUTE_MS).toBe(0);
		expect(next).toBeGreaterThan(before);
		expect(next).toBeLessThanOrEqual(before + MINUTE_MS);

		const replaced = await json<Schedule>("PUT", `/v1/topics/${topic}/schedules/every-minute`, {
			cron: "CRON_TZ=Europe/Berlin 30 2 * * *",
			body: "text",
			content_type: "text/plain",
		});
		expect(replaced.status).toBe(200);
		expect(replaced.body).toMatchObject({
			cron: "CRON_TZ=Europe/Berlin 30 2 * * *",
			timezone: "Europe/Berlin",
			body: "text",
		});
		expect((await json<Schedule>("GET", `/v1/topics/${topic}/schedules/every-minute`)).body).toEqual(replaced.body);
		const list = await json<{ schedules: Schedule[] }>("GET", `/v1/topics/${topic}/schedules`);
		expect(list.body.schedules.map((s) => s.name)).toEqual(["every-minute"]);
	});

	it.each([
		[{ cron: "60 * * * *", body: 1 }, "cron"],
		[{ cron: "* * * *", body: 1 }, "cron"],
		[{ cron: "* * * * * *", body: 1 }, "cron"],
		[{ cron: "@daily", body: 1 }, "cron"],
		[{ cron: "* * * * *", timezone: "Mars/Olympus", body: 1 }, "timezone"],
		[{ cron: "* * * * *" }, "body"],
		[{ cron: "* * * * *", body: 1, key: "x".repeat(257) }, "key"],
		[{ cron: 5, body: 1 }, "cron"],
		[{ cron: "* * * * *", body: 1, headers: { "webhook-id": "x" } }, "headers.webhook-id"],
		[{ cron: "* * * * *", body: { a: 1 }, content_type: "text/plain" }, "body"],
	])("refuses %j with 400 naming %s, creating nothing", async (body, path) => {
		const topic = uniqueName("schedbad");
		await partitionedTopic(topic, 1);
		const res = await json<ErrorBody>("PUT", `/v1/topics/${topic}/schedules/s`, body);
		expect(res.status).toBe(400);
		expect(res.body.error.issues?.map((i) => i.path)).toEqual([path]);
		expect((await api("GET", `/v1/topics/${topic}/schedules/s`)).status).toBe(404);
	});

	it("answers 404 for an unknown topic or schedule, 413 for a body over the limit, 400 for a bad name", async () => {
		const missing = await json<ErrorBody>("PUT", `/v1/topics/${uniqueName("none")}/schedules/s`, {
			cron: "* * * * *",
			body: 1,
		});
		expect(missing.status).toBe(404);
		expect(missing.body.error.code).toBe("topic_not_found");
		const topic = uniqueName("sched404");
		await partitionedTopic(topic, 1);
		expect((await json<ErrorBody>("GET", `/v1/topics/${topic}/schedules/nope`)).body.error.code).toBe(
			"schedule_not_found",
		);
		expect((await api("DELETE", `/v1/topics/${topic}/schedules/nope`)).status).toBe(404);
		expect((await api("POST", `/v1/topics/${topic}/schedules/nope/pause`)).status).toBe(404);
		const big = await api("PUT", `/v1/topics/${topic}/schedules/big`, {
			cron: "* * * * *",
			body: "x".repeat(1024 * 1024),
		});
		expect(big.status).toBe(413);
		expect((await api("PUT", `/v1/topics/${topic}/schedules/-bad`, { cron: "* * * * *", body: 1 })).status).toBe(400);
	});
});

describe("firing", () => {
	it("publishes one message per firing with the derived id; a repeated alarm publishes no second one", async () => {
		const topic = uniqueName("fire");
		await partitionedTopic(topic, 4, { type: "webhook", url: `${receiverUrl()}/never/${topic}`, paused: true });
		await json("PUT", `/v1/topics/${topic}/schedules/tick`, { cron: "* * * * *", body: { n: 1 } });
		// Slept through three firings: only the latest is published, once, late.
		await rewind(topic, "tick", 3);
		const minuteOf = (ms: number) =>
			`tick.${new Date(Math.floor(ms / MINUTE_MS) * MINUTE_MS).toISOString().slice(0, 16)}Z`;
		const before = Date.now();
		await runDurableObjectAlarm(schedules());
		const after = Date.now();
		const ids = await messageIds(topic);
		expect(ids).toHaveLength(1);
		const [id] = ids;
		// The latest firing ≤ now: this minute's (the alarm may cross into the next one).
		expect([minuteOf(before), minuteOf(after)]).toContain(id);
		const shown = (await json<Schedule>("GET", `/v1/topics/${topic}/schedules/tick`)).body;
		expect(shown.last_message_id).toBe(id);
		expect(Date.parse(shown.next_at as string)).toBeGreaterThan(Date.now() - 1000);
		const message = await json("GET", `/v1/topics/${topic}/messages/${id}`);
		expect(message.body).toMatchObject({ id, body: { n: 1 }, deliver_at: shown.last_at });

		// The row update after a publish was lost (a crash): the alarm publishes the same firing again,
		// which is a duplicate, not a second message.
		await runInDurableObject(schedules(), (_i, state) => {
			state.storage.sql.exec(
				"UPDATE schedules SET since_ms = since_ms - ?, next_at_ms = ? WHERE topic = ? AND name = ?",
				MINUTE_MS,
				Date.now() - 1,
				topic,
				"tick",
			);
		});
		await runDurableObjectAlarm(schedules());
		expect(await messageIds(topic)).toEqual(ids);
	});

	it("a paused schedule fires nothing; resumed, it fires from its next match on, not the missed ones", async () => {
		const topic = uniqueName("paused");
		await partitionedTopic(topic, 1, { type: "webhook", url: `${receiverUrl()}/never/${topic}`, paused: true });
		await json("PUT", `/v1/topics/${topic}/schedules/p`, { cron: "* * * * *", body: 1, paused: true });
		await rewind(topic, "p", 5);
		await runInDurableObject(schedules(), (_i, state) => state.storage.setAlarm(Date.now() + 3_600_000));
		await runDurableObjectAlarm(schedules());
		expect(await messageIds(topic)).toEqual([]);
		const paused = (await json<Schedule>("GET", `/v1/topics/${topic}/schedules/p`)).body;
		expect(paused.paused).toBe(true);
		expect(paused.next_at).not.toBeNull();
		const resumed = await json<Schedule>("POST", `/v1/topics/${topic}/schedules/p/resume`);
		expect(resumed.body.paused).toBe(false);
		expect(Date.parse(resumed.body.next_at as string)).toBeGreaterThan(Date.now() - 1000);
		await runDurableObjectAlarm(schedules());
		expect(await messageIds(topic)).toEqual([]);
		expect((await json<Schedule>("POST", `/v1/topics/${topic}/schedules/p/pause`)).body.paused).toBe(true);
	});

	it("a schedule whose topic has no subscriptions records the error and moves on", async () => {
		const topic = uniqueName("nosubs");
		await api("PUT", `/v1/topics/${topic}`, {});
		await json("PUT", `/v1/topics/${topic}/schedules/s`, { cron: "* * * * *", body: 1 });
		await rewind(topic, "s", 2);
		await runDurableObjectAlarm(schedules());
		const shown = (await json<Schedule>("GET", `/v1/topics/${topic}/schedules/s`)).body;
		expect(shown.last_error).toMatch(/^no_subscriptions: /);
		expect(shown.last_message_id).toBeNull();
		expect(Date.parse(shown.next_at as string)).toBeGreaterThan(Date.now() - 1000);
	});

	it("DELETE stops it, and deleting the topic deletes its schedules", async () => {
		const topic = uniqueName("sdel");
		await partitionedTopic(topic, 1);
		await json("PUT", `/v1/topics/${topic}/schedules/a`, { cron: "* * * * *", body: 1 });
		await json("PUT", `/v1/topics/${topic}/schedules/b`, { cron: "*/5 * * * *", body: 1 });
		expect((await json("DELETE", `/v1/topics/${topic}/schedules/a`)).body).toEqual({ name: "a", deleted: true });
		expect(
			(await json<{ schedules: Schedule[] }>("GET", `/v1/topics/${topic}/schedules`)).body.schedules.map((s) => s.name),
		).toEqual(["b"]);
		expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(200);
		await partitionedTopic(topic, 1);
		expect((await json<{ schedules: Schedule[] }>("GET", `/v1/topics/${topic}/schedules`)).body.schedules).toEqual([]);
	});
});
