import { describe, expect, it } from "vitest";
import { api, behave, json, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";
import {
	deliveryRow,
	expectCountsMatchScan,
	getAlarm,
	makeDue,
	message,
	publishParked,
	runAlarm,
	sql,
	subscriptionStats,
	waitFor,
} from "../lifecycle";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
type TopicBody = {
	name: string;
	retention_ms: number;
	subscriptions: number;
	messages: number;
	counts: Record<"scheduled" | "in_flight" | "delivered" | "dead" | "cancelled", number>;
};

const putSub = (topic: string, name: string, body: Record<string, unknown>) =>
	json("PUT", `/v1/topics/${topic}/subscriptions/${name}`, body);

describe("subscription counts and lag", () => {
	it("counts scheduled, in_flight, delivered and dead per subscription", async () => {
		const topic = uniqueName("stats");
		const path = `/hook/${topic}`;
		await behave(path, { status: 200, delayMs: 400 });
		await topicWithWebhook(topic, path);
		await behave(`${path}/fail`, { status: 500 });
		await putSub(topic, "fail", { type: "webhook", url: `${receiverUrl()}${path}/fail`, retry: { max_attempts: 1 } });
		const now = Date.now();
		await publishParked(topic, [message("a", now), message("b", now), message("later", now + HOUR)]);

		const alarm = runAlarm(topic);
		await waitFor("hook in flight", async () =>
			(await subscriptionStats(topic, "hook")).counts.in_flight === 2 ? true : undefined,
		);
		expect((await subscriptionStats(topic, "hook")).counts).toEqual({
			scheduled: 1,
			in_flight: 2,
			delivered: 0,
			dead: 0,
		});
		await alarm;
		expect(await subscriptionStats(topic, "hook")).toMatchObject({
			counts: { scheduled: 1, in_flight: 0, delivered: 2, dead: 0 },
			oldest_due_lag_ms: 0,
		});
		expect((await subscriptionStats(topic, "fail")).counts).toEqual({
			scheduled: 1,
			in_flight: 0,
			delivered: 0,
			dead: 2,
		});
		const list = await json<{ subscriptions: { name: string; counts: object }[] }>(
			"GET",
			`/v1/topics/${topic}/subscriptions`,
		);
		expect(list.body.subscriptions.map((s) => [s.name, s.counts])).toEqual([
			["fail", { scheduled: 1, in_flight: 0, delivered: 0, dead: 2 }],
			["hook", { scheduled: 1, in_flight: 0, delivered: 2, dead: 0 }],
		]);
		await expectCountsMatchScan(topic);
	});

	it("shows how late the oldest due, undelivered delivery is (paused: the lag grows)", async () => {
		const topic = uniqueName("lag");
		await topicWithWebhook(topic, `/hook/${topic}`, { paused: true });
		const now = Date.now();
		await publishParked(topic, [message("old", now - 5000), message("new", now - 1000), message("future", now + HOUR)]);
		expect(await runAlarm(topic)).toBe(true);
		const first = await subscriptionStats(topic);
		expect(first.counts).toEqual({ scheduled: 3, in_flight: 0, delivered: 0, dead: 0 });
		expect(first.oldest_due_lag_ms).toBeGreaterThanOrEqual(5000);
		expect(first.oldest_due_lag_ms).toBeLessThanOrEqual(Date.now() - (now - 5000));
		await new Promise((r) => setTimeout(r, 50));
		expect((await subscriptionStats(topic)).oldest_due_lag_ms).toBeGreaterThanOrEqual(first.oldest_due_lag_ms + 50);
	});
});

describe("topic totals", () => {
	it("GET topic returns config plus totals over its subscriptions", async () => {
		const topic = uniqueName("totals");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		await putSub(topic, "second", { type: "webhook", url: `${receiverUrl()}${path}`, paused: true });
		const now = Date.now();
		await publishParked(topic, [message("a", now), message("b", now + HOUR), message("c", now + HOUR)]);
		expect(await runAlarm(topic)).toBe(true);
		expect((await json("DELETE", `/v1/topics/${topic}/messages/c`)).body).toEqual({ id: "c", cancelled: 2 });
		const t = await json<TopicBody>("GET", `/v1/topics/${topic}`);
		expect(t.status).toBe(200);
		expect(t.body).toMatchObject({
			name: topic,
			retention_ms: 7 * 24 * HOUR,
			subscriptions: 2,
			messages: 3,
			counts: { scheduled: 3, in_flight: 0, delivered: 1, dead: 0, cancelled: 2 },
		});
	});
});

describe("counters kept by triggers", () => {
	it("match a full COUNT(*) … GROUP BY after publish, deliver, fail, cancel, redrive, purge and subscription delete", async () => {
		const topic = uniqueName("counters");
		const ok = `/hook/${topic}`;
		const bad = `/hook/${topic}/bad`;
		await behave(bad, { status: 500 });
		await topicWithWebhook(topic, ok);
		const badSub = { type: "webhook", url: `${receiverUrl()}${bad}`, retry: { max_attempts: 1 } };
		await putSub(topic, "bad", badSub);
		const now = Date.now();
		const due = ["d0", "d1", "d2", "d3", "d4"].map((id) => message(id, now));
		await publishParked(topic, [...due, message("f0", now + HOUR), message("f1", now + HOUR)]);
		await expectCountsMatchScan(topic);

		expect(await runAlarm(topic)).toBe(true); // hook delivers 5, bad fails 5 (dead)
		expect((await expectCountsMatchScan(topic)).kept).toHaveLength(4);

		await json("DELETE", `/v1/topics/${topic}/messages/f0`); // cancel
		await putSub(topic, "bad", { ...badSub, paused: true });
		expect(
			(await json("POST", `/v1/topics/${topic}/subscriptions/bad/dead/redrive`, { ids: ["d0", "d1"] })).body,
		).toEqual({
			redriven: 2,
			pending: 0,
		});
		await expectCountsMatchScan(topic);
		expect((await json("DELETE", `/v1/topics/${topic}/subscriptions/bad/dead`)).body).toEqual({
			purged: 3,
			pending: 0,
		});
		await expectCountsMatchScan(topic);

		// Retries: un-paused with max_attempts 3, the redriven d0, d1 and a forced f1 fail once and wait an hour.
		await putSub(topic, "bad", { ...badSub, retry: { max_attempts: 3, backoff: "fixed", base: "1h" } });
		await makeDue(topic, ["f1"]);
		await runAlarm(topic);
		await waitFor("the retries recorded", async () => {
			const rows = await Promise.all([
				deliveryRow(topic, "d0", "bad"),
				deliveryRow(topic, "d1", "bad"),
				deliveryRow(topic, "f1", "bad"),
				deliveryRow(topic, "f1", "hook"),
			]);
			const settled = rows.slice(0, 3).every((r) => r.state === "scheduled" && r.attempts === 1);
			return settled && rows[3]?.state === "delivered" ? true : undefined;
		});
		await expectCountsMatchScan(topic);

		await putSub(topic, "extra", { type: "webhook", url: `${receiverUrl()}/x`, paused: true });
		await api("POST", `/v1/topics/${topic}/messages`, { id: "e0", body: 1, delay: "1h" });
		await api("POST", `/v1/topics/${topic}/messages`, { id: "e0", body: 1, delay: "1h" }); // duplicate
		await expectCountsMatchScan(topic);
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/extra`)).status).toBe(200);
		expect((await expectCountsMatchScan(topic)).messages).toBe(8);

		// hook: d0-d4 and f1 delivered, e0 scheduled, f0 cancelled.
		expect((await subscriptionStats(topic, "hook")).counts).toEqual({
			scheduled: 1,
			in_flight: 0,
			delivered: 6,
			dead: 0,
		});
		// bad: d0, d1, f1 retrying and e0 scheduled, d2-d4 purged, f0 cancelled.
		expect((await subscriptionStats(topic, "bad")).counts).toEqual({
			scheduled: 4,
			in_flight: 0,
			delivered: 0,
			dead: 0,
		});
		const t = await json<TopicBody>("GET", `/v1/topics/${topic}`);
		expect(t.body.counts).toEqual({ scheduled: 5, in_flight: 0, delivered: 6, dead: 0, cancelled: 2 });
	});
});

describe("retention", () => {
	/** Moves every finished message's finish time `ms` into the past. */
	const age = (topic: string, ms: number, ids?: string[]) =>
		ids
			? Promise.all(
					ids.map((id) => sql(topic, "UPDATE messages SET finished_at_ms = ? WHERE id = ?", Date.now() - ms, id)),
				)
			: sql(topic, "UPDATE messages SET finished_at_ms = ? WHERE finished_at_ms IS NOT NULL", Date.now() - ms);

	it("deletes finished messages after the topic's retention; unfinished and dead ones stay", async () => {
		const topic = uniqueName("retain");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path, { retry: { max_attempts: 1 } }); // creates the topic with the default retention
		const updated = await json<TopicBody>("PUT", `/v1/topics/${topic}`, { retention: "1m" });
		expect(updated.status).toBe(200);
		expect(updated.body.retention_ms).toBe(MINUTE);
		const now = Date.now();
		await publishParked(topic, [
			message("done", now),
			message("recent", now),
			message("dead", now + HOUR),
			message("cancelled", now + HOUR),
			message("pending", now + HOUR),
		]);
		expect(await runAlarm(topic)).toBe(true);
		await behave(path, { status: 500 });
		await makeDue(topic, ["dead"]);
		expect(await runAlarm(topic)).toBe(true);
		expect((await deliveryRow(topic, "dead")).state).toBe("dead");
		await json("DELETE", `/v1/topics/${topic}/messages/cancelled`);
		const finished = await sql<{ id: string }>(
			topic,
			"SELECT id FROM messages WHERE finished_at_ms IS NOT NULL ORDER BY id",
		);
		expect(finished.map((r) => r.id)).toEqual(["cancelled", "done", "recent"]);

		// The alarm waits for the oldest finished message's retention to end.
		const [oldest] = await sql<{ at: number }>(topic, "SELECT MIN(finished_at_ms) AS at FROM messages");
		expect(await getAlarm(topic)).toBe((oldest?.at ?? 0) + MINUTE);

		await age(topic, 2 * MINUTE, ["done", "cancelled"]);
		await age(topic, 30_000, ["recent"]);
		expect(await runAlarm(topic)).toBe(true);

		for (const id of ["done", "cancelled"]) {
			expect((await api("GET", `/v1/topics/${topic}/messages/${id}`)).status, id).toBe(404);
		}
		for (const id of ["recent", "dead", "pending"]) {
			expect((await api("GET", `/v1/topics/${topic}/messages/${id}`)).status, id).toBe(200);
		}
		expect((await json<TopicBody>("GET", `/v1/topics/${topic}`)).body.messages).toBe(3);
		const [recent] = await sql<{ finished_at_ms: number }>(
			topic,
			"SELECT finished_at_ms FROM messages WHERE id = 'recent'",
		);
		expect(await getAlarm(topic)).toBe((recent?.finished_at_ms ?? 0) + MINUTE);
		await expectCountsMatchScan(topic);
	});

	it("sweeps a dead message once it is purged", async () => {
		const topic = uniqueName("retain-purge");
		const path = `/hook/${topic}`;
		await behave(path, { status: 500 });
		await topicWithWebhook(topic, path, { retry: { max_attempts: 1 } });
		await json("PUT", `/v1/topics/${topic}`, { retention: "1m" });
		await publishParked(topic, [message("m1", Date.now())]);
		expect(await runAlarm(topic)).toBe(true);
		expect((await deliveryRow(topic, "m1")).state).toBe("dead");
		expect(await sql(topic, "SELECT finished_at_ms FROM messages")).toEqual([{ finished_at_ms: null }]);

		const before = Date.now();
		expect((await json("DELETE", `/v1/topics/${topic}/subscriptions/hook/dead`)).body).toEqual({
			purged: 1,
			pending: 0,
		});
		const [row] = await sql<{ finished_at_ms: number }>(topic, "SELECT finished_at_ms FROM messages");
		expect(row?.finished_at_ms).toBeGreaterThanOrEqual(before - 5);
		// The retention sweep of the now finished message is armed.
		expect(await getAlarm(topic)).toBe((row?.finished_at_ms ?? 0) + MINUTE);
		await age(topic, 2 * MINUTE);
		expect(await runAlarm(topic)).toBe(true);
		expect((await api("GET", `/v1/topics/${topic}/messages/m1`)).status).toBe(404);
		expect((await json<TopicBody>("GET", `/v1/topics/${topic}`)).body.messages).toBe(0);
	});

	it("arms the sweep when a cancel finishes a message nothing else would wake the alarm for (paused)", async () => {
		const topic = uniqueName("retain-paused");
		await topicWithWebhook(topic, `/hook/${topic}`, { paused: true });
		await json("PUT", `/v1/topics/${topic}`, { retention: "1m" });
		await publishParked(topic, [message("m1", Date.now())]);
		expect(await runAlarm(topic)).toBe(true);
		expect(await getAlarm(topic)).toBeNull(); // only a paused delivery is pending
		expect((await json("DELETE", `/v1/topics/${topic}/messages/m1`)).body).toEqual({ id: "m1", cancelled: 1 });
		const [row] = await sql<{ finished_at_ms: number }>(topic, "SELECT finished_at_ms FROM messages");
		expect(await getAlarm(topic)).toBe((row?.finished_at_ms ?? 0) + MINUTE);
		await age(topic, 2 * MINUTE);
		expect(await runAlarm(topic)).toBe(true);
		expect((await api("GET", `/v1/topics/${topic}/messages/m1`)).status).toBe(404);
	});

	it("PUT topic {retention} updates it and re-arms the sweep", async () => {
		const topic = uniqueName("retain-put");
		await topicWithWebhook(topic, `/hook/${topic}`);
		expect((await json<TopicBody>("GET", `/v1/topics/${topic}`)).body.retention_ms).toBe(7 * 24 * HOUR);
		await publishParked(topic, [message("m1", Date.now())]);
		expect(await runAlarm(topic)).toBe(true);
		const [row] = await sql<{ finished_at_ms: number }>(topic, "SELECT finished_at_ms FROM messages");
		const finishedAt = row?.finished_at_ms ?? 0;
		expect(await getAlarm(topic)).toBe(finishedAt + 7 * 24 * HOUR);

		const updated = await json<TopicBody>("PUT", `/v1/topics/${topic}`, { retention: "2h" });
		expect(updated.status).toBe(200);
		expect(updated.body.retention_ms).toBe(2 * HOUR);
		expect((await json<TopicBody>("GET", `/v1/topics/${topic}`)).body.retention_ms).toBe(2 * HOUR);
		expect(await getAlarm(topic)).toBe(finishedAt + 2 * HOUR);

		for (const retention of ["30s", "366d", "forever", 0]) {
			const res = await json<{ error: { issues: { path: string }[] } }>("PUT", `/v1/topics/${topic}`, { retention });
			expect(res.status, String(retention)).toBe(400);
			expect(res.body.error.issues.map((i) => i.path)).toEqual(["retention"]);
		}
		expect((await json<TopicBody>("GET", `/v1/topics/${topic}`)).body.retention_ms).toBe(2 * HOUR);
	});
});
