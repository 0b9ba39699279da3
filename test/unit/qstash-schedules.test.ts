import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, behave, json, receiverUrl, uniqueName, v2 } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";

const schedules = () => env.SCHEDULES.getByName("~schedules");

const call = v2;

type States = Record<string, "IN_PROGRESS" | "SUCCESS" | "FAIL">;
type Schedule = Record<string, unknown> & {
	scheduleId: string;
	isPaused: boolean;
	nextScheduleTime: number;
	lastScheduleStates?: States;
};

/** Runs the schedule object's alarm as if it had slept since before the schedule's latest match: that one fires now. */
async function fireNow(id: string) {
	await runInDurableObject(schedules(), (_i, state) => {
		state.storage.sql.exec("UPDATE schedules SET since_ms = 0, next_at_ms = ? WHERE name = ?", Date.now() - 1, id);
	});
	await runDurableObjectAlarm(schedules());
}

const getSchedule = async (id: string) => (await (await call("GET", `/v2/schedules/${id}`)).json()) as Schedule;

/** Polls GET /v2/schedules/{id} until its lastScheduleStates equal `want`. */
function statesBecome(id: string, want: States) {
	return waitFor(`lastScheduleStates of ${id} = ${JSON.stringify(want)}`, async () => {
		const states = (await getSchedule(id)).lastScheduleStates ?? {};
		const same = Object.keys(states).length === Object.keys(want).length;
		return same && Object.entries(want).every(([k, v]) => states[k] === v) ? states : undefined;
	});
}

describe("/v2/schedules", () => {
	it("creates (with an id or a generated one), gets, lists, pauses and resumes (PATCH and POST), deletes", async () => {
		const url = `${receiverUrl()}/v2sched/${uniqueName("s")}`;
		const res = await call(
			"POST",
			`/v2/schedules/${url}`,
			{
				"upstash-cron": "*/5 * * * *",
				"upstash-retries": "1",
				"upstash-schedule-id": "nightly-report",
				"upstash-forward-x-a": "1",
			},
			'{"job":1}',
		);
		expect(await res.json()).toEqual({ scheduleId: "nightly-report" });
		const got = (await (await call("GET", "/v2/schedules/nightly-report")).json()) as Schedule;
		expect(got).toMatchObject({
			scheduleId: "nightly-report",
			cron: "*/5 * * * *",
			destination: url,
			method: "POST",
			header: { "x-a": ["1"] },
			body: '{"job":1}',
			retries: 1,
			isPaused: false,
		});
		expect(got.nextScheduleTime % 300_000).toBe(0);
		const generated = (await (
			await call("POST", `/v2/schedules/${url}`, { "upstash-cron": "0 * * * *" }, "x")
		).json()) as {
			scheduleId: string;
		};
		expect(generated.scheduleId).toMatch(/^scd_/);
		const list = (await (await call("GET", "/v2/schedules")).json()) as Schedule[];
		expect(list.map((s) => s.scheduleId)).toEqual(expect.arrayContaining(["nightly-report", generated.scheduleId]));
		expect(await (await call("PATCH", "/v2/schedules/nightly-report/pause")).json()).toEqual({});
		expect(((await (await call("GET", "/v2/schedules/nightly-report")).json()) as Schedule).isPaused).toBe(true);
		expect((await call("POST", "/v2/schedules/nightly-report/resume")).status).toBe(200);
		expect(((await (await call("GET", "/v2/schedules/nightly-report")).json()) as Schedule).isPaused).toBe(false);
		expect(await (await call("DELETE", "/v2/schedules/nightly-report")).json()).toEqual({});
		expect((await call("GET", "/v2/schedules/nightly-report")).status).toBe(404);
		await call("DELETE", `/v2/schedules/${generated.scheduleId}`);
	});

	it("a firing publishes as /v2/publish does, with Upstash-Schedule-Id", async () => {
		const path = `/v2sched/${uniqueName("fire")}`;
		const id = uniqueName("sch");
		await call(
			"POST",
			`/v2/schedules/${receiverUrl()}${path}`,
			{ "upstash-cron": "* * * * *", "upstash-schedule-id": id, "content-type": "application/xml" },
			"tick",
		);
		await fireNow(id);
		const [got] = await waitForReceived(path, 1);
		expect(got?.body).toBe("tick");
		expect(got?.headers["upstash-schedule-id"]).toBe(id);
		expect(got?.headers["upstash-message-id"]).toMatch(new RegExp(`^${id}\\.`));
		expect(got?.headers["content-type"]).toBe("application/xml");
		await call("DELETE", `/v2/schedules/${id}`);
	});

	it("a firing carries the schedule's flow-control key and queue; bad ones are refused at creation", async () => {
		const path = `/v2sched/${uniqueName("flow")}`;
		const key = uniqueName("schk");
		const queue = uniqueName("schq");
		const id = uniqueName("schf");
		const qid = uniqueName("schfq");
		const made = await call(
			"POST",
			`/v2/schedules/${receiverUrl()}${path}`,
			{
				"upstash-cron": "* * * * *",
				"upstash-schedule-id": id,
				"upstash-flow-control-key": key,
				"upstash-flow-control-value": "parallelism=1, rate=5, period=1m",
			},
			"flow",
		);
		expect(made.status).toBe(200);
		const queued = await call(
			"POST",
			`/v2/schedules/${receiverUrl()}${path}`,
			{ "upstash-cron": "* * * * *", "upstash-schedule-id": qid, "upstash-queue-name": queue },
			"queued",
		);
		expect(queued.status).toBe(200);
		await fireNow(id);
		await fireNow(qid);
		expect((await waitForReceived(path, 2)).map((r) => r.body).sort()).toEqual(["flow", "queued"]);
		const info = (await (await call("GET", `/v2/flowControl/${key}`)).json()) as Record<string, unknown>;
		expect(info).toMatchObject({ flowControlKey: key, parallelismMax: 1, rateMax: 5, ratePeriod: 60 });
		expect(await (await call("GET", `/v2/queues/${queue}`)).json()).toMatchObject({ name: queue, parallelism: 1 });
		const bad = await call(
			"POST",
			`/v2/schedules/${receiverUrl()}${path}`,
			{ "upstash-cron": "* * * * *", "upstash-flow-control-key": key, "upstash-flow-control-value": "rate=0" },
			"x",
		);
		expect(bad.status).toBe(400);
		await call("DELETE", `/v2/schedules/${id}`);
		await call("DELETE", `/v2/schedules/${qid}`);
	});

	// A yearly cron never fires by itself during a test, so the firing fireNow publishes stays the last one.
	const yearly = (destination: string, id: string, headers: Record<string, string> = {}) =>
		call(
			"POST",
			`/v2/schedules/${destination}`,
			{ "upstash-cron": "0 0 1 1 *", "upstash-schedule-id": id, ...headers },
			"x",
		);

	it("lastScheduleStates: absent before a firing, then IN_PROGRESS, then SUCCESS once the destination answers 200", async () => {
		const path = `/v2sched/${uniqueName("ok")}`;
		const id = uniqueName("sch");
		// The receiver holds its answer, so the attempt is seen in flight.
		await behave(path, { status: 200, delayMs: 1500 });
		await yearly(`${receiverUrl()}${path}`, id);
		const before = await getSchedule(id);
		expect(before).not.toHaveProperty("lastScheduleStates");
		expect(before).not.toHaveProperty("lastScheduleTime");
		await fireNow(id);
		const [got] = await waitForReceived(path, 1);
		const messageId = got?.headers["upstash-message-id"] as string;
		expect(messageId).toMatch(new RegExp(`^${id}\\.`));
		expect((await getSchedule(id)).lastScheduleStates).toEqual({ [messageId]: "IN_PROGRESS" });
		await statesBecome(id, { [messageId]: "SUCCESS" });
		const list = (await (await call("GET", "/v2/schedules")).json()) as Schedule[];
		expect(list.find((s) => s.scheduleId === id)?.lastScheduleStates).toEqual({ [messageId]: "SUCCESS" });
		await call("DELETE", `/v2/schedules/${id}`);
	});

	it.each([
		["489 with Upstash-NonRetryable-Error", { status: 489, headers: { "upstash-nonretryable-error": "true" } }, {}],
		["500 with Upstash-Retries: 0", { status: 500 }, { "upstash-retries": "0" }],
	])("lastScheduleStates: FAIL once the firing is dead (%s)", async (_what, reply, headers) => {
		const path = `/v2sched/${uniqueName("dead")}`;
		const id = uniqueName("sch");
		await behave(path, reply);
		await yearly(`${receiverUrl()}${path}`, id, headers);
		await fireNow(id);
		const [got] = await waitForReceived(path, 1);
		await statesBecome(id, { [got?.headers["upstash-message-id"] as string]: "FAIL" });
		await call("DELETE", `/v2/schedules/${id}`);
	});

	it("lastScheduleStates of a URL group: one entry per webhook endpoint, keyed by its messageId", async () => {
		const group = uniqueName("grp");
		const [okPath, deadPath] = [`/v2sched/${uniqueName("ga")}`, `/v2sched/${uniqueName("gb")}`];
		await behave(deadPath, { status: 489, headers: { "upstash-nonretryable-error": "true" } });
		const endpoints = [
			{ name: "a", url: `${receiverUrl()}${okPath}` },
			{ name: "b", url: `${receiverUrl()}${deadPath}` },
		];
		expect((await json("POST", `/v2/topics/${group}/endpoints`, { endpoints })).status).toBe(200);
		// A pull subscription of the same topic gets a delivery too, but it is no QStash endpoint.
		expect((await api("PUT", `/v1/topics/${group}/subscriptions/puller`, { type: "pull" })).status).toBe(201);
		const id = uniqueName("sch");
		await yearly(group, id);
		await fireNow(id);
		const [[a], [b]] = await Promise.all([waitForReceived(okPath, 1), waitForReceived(deadPath, 1)]);
		const [idA, idB] = [a?.headers["upstash-message-id"] as string, b?.headers["upstash-message-id"] as string];
		expect(idA).not.toBe(idB);
		await statesBecome(id, { [idA]: "SUCCESS", [idB]: "FAIL" });
		await call("DELETE", `/v2/schedules/${id}`);
	});

	it("lastScheduleStates is absent once the firing's message is gone", async () => {
		const path = `/v2sched/${uniqueName("gone")}`;
		const id = uniqueName("sch");
		await yearly(`${receiverUrl()}${path}`, id);
		await fireNow(id);
		await waitForReceived(path, 1);
		// As after the retention sweep: the schedule still names its last firing's message.
		await runInDurableObject(schedules(), (_i, state) => {
			state.storage.sql.exec("UPDATE schedules SET last_message_id = ? WHERE name = ?", `${id}.swept`, id);
		});
		const after = await getSchedule(id);
		expect(after).not.toHaveProperty("lastScheduleStates");
		expect(after.lastScheduleTime).toEqual(expect.any(Number));
		await call("DELETE", `/v2/schedules/${id}`);
	});

	it.each([
		[{}, /^Upstash-Cron: /],
		[{ "upstash-cron": "61 * * * *" }, /^Upstash-Cron: /],
		[{ "upstash-cron": "* * * * *", "upstash-deduplication-id": "d" }, /^Upstash-Deduplication-Id: /],
		[{ "upstash-cron": "* * * * *", "upstash-schedule-id": "bad id" }, /^Upstash-Schedule-Id: /],
		[{ "upstash-cron": "* * * * *", "upstash-retries": "-1" }, /^Upstash-Retries: /],
	])("refuses %j with 400", async (headers, message) => {
		const res = await call("POST", `/v2/schedules/${receiverUrl()}/v2sched/bad`, headers, "x");
		expect(res.status).toBe(400);
		expect(((await res.json()) as { error: string }).error).toMatch(message);
	});

	it("answers 404 for an unknown schedule", async () => {
		for (const [method, path] of [
			["GET", "/v2/schedules/nope"],
			["DELETE", "/v2/schedules/nope"],
			["PATCH", "/v2/schedules/nope/pause"],
		] as const) {
			expect((await call(method, path)).status).toBe(404);
		}
	});
});
