import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { receiverUrl, TOKEN, uniqueName } from "../helpers";
import { waitForReceived } from "../lifecycle";

const schedules = () => env.SCHEDULES.getByName("~schedules");

function call(method: string, path: string, headers: Record<string, string> = {}, body?: string | Uint8Array) {
	return exports.default.fetch(
		new Request(`http://sundial.test${path}`, {
			method,
			headers: { authorization: `Bearer ${TOKEN}`, ...headers },
			body,
		}),
	);
}

type Schedule = Record<string, unknown> & { scheduleId: string; isPaused: boolean; nextScheduleTime: number };

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
		// As if the object had slept through the last minutes: the alarm fires the latest one now.
		await runInDurableObject(schedules(), (_i, state) => {
			state.storage.sql.exec(
				"UPDATE schedules SET since_ms = since_ms - 180000, next_at_ms = next_at_ms - 180000 WHERE name = ?",
				id,
			);
		});
		await runDurableObjectAlarm(schedules());
		const [got] = await waitForReceived(path, 1);
		expect(got?.body).toBe("tick");
		expect(got?.headers["upstash-schedule-id"]).toBe(id);
		expect(got?.headers["upstash-message-id"]).toMatch(new RegExp(`^${id}\\.`));
		expect(got?.headers["content-type"]).toBe("application/xml");
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
