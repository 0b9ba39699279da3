import { describe, expect, it } from "vitest";
import { encodeCursor } from "../../src/http/cursor";
import { api, behave, json, received, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";
import {
	deliveryRow,
	expectCountsMatchScan,
	message,
	publishParked,
	runAlarm,
	seedDeliveries,
	sql,
	subscriptionStats,
	waitFor,
	waitForReceived,
} from "../lifecycle";

interface Dead {
	message_id: string;
	subscription: string;
	attempts: number;
	last_status: number | null;
	last_error: string | null;
	dead_at: string;
}
type DeadPage = { dead: Dead[]; next_cursor: string | null };
type ErrorBody = { error: { code: string; issues?: { path: string; message: string }[] } };

const ids = (n: number, prefix = "m") => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** A topic whose subscription "hook" (max_attempts 1) fails every message in `messageIds` once: all dead. */
async function topicWithDead(messageIds: string[], extra: Record<string, unknown> = {}) {
	const topic = uniqueName("dead");
	const path = `/hook/${topic}`;
	await behave(path, { status: 500 });
	await topicWithWebhook(topic, path, { retry: { max_attempts: 1 }, ...extra });
	if (messageIds.length > 0) {
		const now = Date.now();
		await publishParked(
			topic,
			messageIds.map((id) => message(id, now)),
		);
		expect(await runAlarm(topic)).toBe(true);
	}
	return { topic, path, deadPath: `/v1/topics/${topic}/subscriptions/hook/dead` };
}

/** Follows next_cursor from the first page to the last. */
async function allPages(path: string, limit: number) {
	const pages: Dead[][] = [];
	let cursor: string | null = null;
	do {
		const url = `${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
		const res: { status: number; body: DeadPage } = await json<DeadPage>("GET", url);
		expect(res.status).toBe(200);
		expect(res.body.dead.length).toBeLessThanOrEqual(limit);
		pages.push(res.body.dead);
		cursor = res.body.next_cursor;
		expect(pages.length).toBeLessThan(100);
	} while (cursor !== null);
	return pages;
}

describe("dead-letter list", () => {
	it("lists dead deliveries with their last status and error", async () => {
		const before = Date.now();
		const { topic, deadPath } = await topicWithDead(["a", "b"]);
		const res = await json<DeadPage>("GET", deadPath);
		expect(res.status).toBe(200);
		expect(res.body.next_cursor).toBeNull();
		expect(res.body.dead).toHaveLength(2);
		for (const [i, id] of ["a", "b"].entries()) {
			const d = res.body.dead[i] as Dead;
			expect(d).toEqual({
				message_id: id,
				subscription: "hook",
				attempts: 1,
				last_status: 500,
				last_error: "HTTP 500",
				dead_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
			});
			expect(Date.parse(d.dead_at)).toBeGreaterThanOrEqual(before);
			expect(Date.parse(d.dead_at)).toBeLessThanOrEqual(Date.now());
		}
		expect((await subscriptionStats(topic)).counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 0, dead: 2 });
		expect((await api("GET", `/v1/topics/${topic}/subscriptions/nope/dead`)).status).toBe(404);
	});

	it.for([0, 1, 2, 3, 4, 7])(
		"pages of limit=2 over %i dead deliveries concatenate to the list exactly once",
		async (n) => {
			const expected = ids(n);
			const { deadPath } = await topicWithDead(expected);
			for (const limit of [2, 3]) {
				const pages = await allPages(deadPath, limit);
				const seen = pages.flat().map((d) => d.message_id);
				expect(seen).toEqual(expected);
				expect(new Set(seen).size).toBe(n);
				// Every page but the last is full; an empty list is one empty page.
				expect(pages.length).toBe(Math.max(1, Math.ceil(n / limit)));
			}
		},
	);

	it("refuses forged cursors and cursors of another list, subscription or topic with 400 naming cursor", async () => {
		const { topic, deadPath } = await topicWithDead(ids(3));
		const other = await topicWithDead(ids(3));
		await json("PUT", `/v1/topics/${topic}/subscriptions/second`, { type: "webhook", url: `${receiverUrl()}/x` });
		const otherCursor = (await json<DeadPage>("GET", `${other.deadPath}?limit=1`)).body.next_cursor;
		const secondCursor = encodeCursor("dead", `${topic}/second`, [0, 1]);
		const messagesCursor = (await json<{ next_cursor: string }>("GET", `/v1/topics/${topic}/messages?limit=1`)).body
			.next_cursor;
		expect(otherCursor).toEqual(expect.any(String));
		expect(messagesCursor).toEqual(expect.any(String));
		const forged = [
			"garbage!",
			"e30",
			otherCursor as string,
			secondCursor,
			messagesCursor,
			encodeCursor("dead", `${topic}/hook`, [0, "1"]),
			encodeCursor("dead", `${topic}/hook`, [1]),
			encodeCursor("dead", `${topic}/hook`, [0, 1, 2]),
			// A partition the topic does not have (it has one: partition 0).
			encodeCursor("dead", `${topic}/hook`, [1, 1]),
			encodeCursor("dead", `${topic}/hook`, [-1, 1]),
			btoa(JSON.stringify({ k: "dead", s: `${topic}/hook`, a: [0, 1.5] })),
			btoa(JSON.stringify({ k: "dead", s: `${topic}/hook`, a: [0, 1e300] })),
		];
		for (const cursor of forged) {
			const res = await json<ErrorBody>("GET", `${deadPath}?cursor=${encodeURIComponent(cursor)}`);
			expect(res.status, cursor).toBe(400);
			expect(res.body.error.code).toBe("invalid_request");
			expect(res.body.error.issues?.map((i) => i.path)).toEqual(["cursor"]);
		}
		for (const limit of ["0", "1001", "x"]) {
			expect((await api("GET", `${deadPath}?limit=${limit}`)).status).toBe(400);
		}
	});
});

describe("redrive", () => {
	it("redrives named dead deliveries: attempts reset, then delivered when the receiver answers 200", async () => {
		const { topic, path, deadPath } = await topicWithDead(["a", "b", "c"]);
		await behave(path, { status: 200 });
		const res = await json("POST", `${deadPath}/redrive`, { ids: ["a", "c", "a"] });
		expect(res).toEqual({ status: 200, body: { redriven: 2, pending: 0 } });
		await waitFor("a and c delivered", async () => {
			const [a, c] = [await deliveryRow(topic, "a"), await deliveryRow(topic, "c")];
			return a.state === "delivered" && c.state === "delivered" ? true : undefined;
		});
		// Attempts were reset: the redriven attempt is attempt 1 again.
		expect(await deliveryRow(topic, "a")).toMatchObject({ state: "delivered", attempts: 1, last_status: 200 });
		const again = (await received(path)).slice(3);
		expect(again.map((r) => [r.headers["webhook-id"], r.headers["sundial-attempt"]]).sort()).toEqual([
			["a", "1"],
			["c", "1"],
		]);
		expect(await deliveryRow(topic, "b")).toMatchObject({ state: "dead", attempts: 1 });
		const dead = await json<DeadPage>("GET", deadPath);
		expect(dead.body.dead.map((d) => d.message_id)).toEqual(["b"]);
		expect((await subscriptionStats(topic)).counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 2, dead: 1 });
		await expectCountsMatchScan(topic);
	});

	it("schedules a redriven delivery now with attempts reset (observed on a paused subscription)", async () => {
		const { topic, path, deadPath } = await topicWithDead(["a"]);
		const paused = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			retry: { max_attempts: 1 },
			paused: true,
		});
		expect(paused.status).toBe(200);
		const before = Date.now();
		expect((await json("POST", `${deadPath}/redrive`, {})).body).toEqual({ redriven: 1, pending: 0 });
		const row = await deliveryRow(topic, "a");
		expect(row).toMatchObject({ state: "scheduled", attempts: 0 });
		expect(row.next_at_ms).toBeGreaterThanOrEqual(before);
		expect(row.next_at_ms).toBeLessThanOrEqual(Date.now());
	});

	it("refuses ids that are not dead (or unknown) with 409 not_dead and changes nothing", async () => {
		const { topic, path, deadPath } = await topicWithDead(["a", "b"]);
		await behave(path, { status: 200 });
		await publishParked(topic, [message("fine", Date.now())]);
		expect(await runAlarm(topic)).toBe(true);
		expect((await deliveryRow(topic, "fine")).state).toBe("delivered");

		for (const body of [{ ids: ["a", "unknown"] }, { ids: ["fine"] }, { ids: ["b", "fine", "a"] }]) {
			const res = await json<ErrorBody>("POST", `${deadPath}/redrive`, body);
			expect(res.status).toBe(409);
			expect(res.body.error.code).toBe("not_dead");
			expect(res.body.error.issues?.every((i) => i.path === "ids")).toBe(true);
		}
		expect(await deliveryRow(topic, "a")).toMatchObject({ state: "dead", attempts: 1 });
		expect(await deliveryRow(topic, "b")).toMatchObject({ state: "dead", attempts: 1 });
		expect((await subscriptionStats(topic)).counts).toMatchObject({ dead: 2, delivered: 1, scheduled: 0 });

		for (const body of [{ ids: [] }, { ids: ["bad id"] }, { ids: "a" }, { all: true }]) {
			expect((await api("POST", `${deadPath}/redrive`, body)).status).toBe(400);
		}
		expect((await api("POST", `/v1/topics/${topic}/subscriptions/nope/dead/redrive`, {})).status).toBe(404);
	});

	it("redrives all with {}, then the list is empty", async () => {
		const { topic, path, deadPath } = await topicWithDead(ids(4));
		await behave(path, { status: 200 });
		expect((await json("POST", `${deadPath}/redrive`, {})).body).toEqual({ redriven: 4, pending: 0 });
		expect((await json<DeadPage>("GET", deadPath)).body.dead).toEqual([]);
		await waitForReceived(path, 8);
		await waitFor("all delivered", async () =>
			(await subscriptionStats(topic)).counts.delivered === 4 ? true : undefined,
		);
		expect((await json("POST", `${deadPath}/redrive`, {})).body).toEqual({ redriven: 0, pending: 0 });
	});
});

describe("purge", () => {
	it("purges dead deliveries: the list is empty and counts.dead is 0", async () => {
		const { topic, deadPath } = await topicWithDead(ids(3));
		expect((await json("DELETE", deadPath)).body).toEqual({ purged: 3, pending: 0 });
		expect((await json<DeadPage>("GET", deadPath)).body).toEqual({ dead: [], next_cursor: null });
		expect((await subscriptionStats(topic)).counts.dead).toBe(0);
		expect((await json("DELETE", deadPath)).body).toEqual({ purged: 0, pending: 0 });
		await expectCountsMatchScan(topic);
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/nope/dead`)).status).toBe(404);
	});
});

describe("bulk dead letters, in bounded batches", () => {
	/** A paused subscription (so redriven deliveries stay scheduled) with `n` dead deliveries. */
	async function bulk(n: number) {
		const topic = uniqueName("bulk");
		await topicWithWebhook(topic, `/hook/${topic}`, { paused: true });
		await seedDeliveries(topic, "hook", n, "dead-");
		expect((await subscriptionStats(topic)).counts.dead).toBe(n);
		return { topic, deadPath: `/v1/topics/${topic}/subscriptions/hook/dead` };
	}

	/** Runs the alarm until `done` holds (the platform may run it meanwhile too). */
	async function settle(topic: string, done: () => Promise<boolean>) {
		for (let i = 0; i < 20 && !(await done()); i++) await runAlarm(topic);
		expect(await done()).toBe(true);
	}

	it("redrive {} of 1200: 1000 now, 200 pending, the rest by the alarm", async () => {
		const { topic, deadPath } = await bulk(1200);
		expect((await json("POST", `${deadPath}/redrive`, {})).body).toEqual({ redriven: 1000, pending: 200 });
		await settle(topic, async () => (await subscriptionStats(topic)).counts.dead === 0);
		const rows = await sql(
			topic,
			"SELECT state, COUNT(*) AS n, MAX(attempts) AS attempts FROM deliveries GROUP BY state",
		);
		expect(rows).toEqual([{ state: "scheduled", n: 1200, attempts: 0 }]);
		expect(await sql(topic, "SELECT * FROM jobs")).toEqual([]);
		expect((await subscriptionStats(topic)).counts).toEqual({ scheduled: 1200, in_flight: 0, delivered: 0, dead: 0 });
		await expectCountsMatchScan(topic);
	});

	it("purge of 1200: 1000 now, 200 pending, the rest by the alarm", async () => {
		const { topic, deadPath } = await bulk(1200);
		expect((await json("DELETE", deadPath)).body).toEqual({ purged: 1000, pending: 200 });
		await settle(topic, async () => (await subscriptionStats(topic)).counts.dead === 0);
		expect(await sql(topic, "SELECT COUNT(*) AS n FROM deliveries")).toEqual([{ n: 0 }]);
		expect(await sql(topic, "SELECT * FROM jobs")).toEqual([]);
		expect((await json<DeadPage>("GET", deadPath)).body.dead).toEqual([]);
		// The messages are finished now (dead and purged): retention will sweep them.
		expect(await sql(topic, "SELECT COUNT(*) AS n FROM messages WHERE finished_at_ms IS NULL")).toEqual([{ n: 0 }]);
		await expectCountsMatchScan(topic);
	});

	it("deleting a subscription with 2500 deliveries finishes by the alarm; the name starts empty again", async () => {
		const topic = uniqueName("bulk-drop");
		const path = `/hook/${topic}`;
		await topicWithWebhook(topic, path);
		const oldSid = await seedDeliveries(topic, "hook", 1500, "s-", "scheduled");
		await seedDeliveries(topic, "hook", 1000, "d-", "dead");
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/hook`)).status).toBe(200);
		const left = async () =>
			(await sql<{ n: number }>(topic, "SELECT COUNT(*) AS n FROM deliveries WHERE sid = ?", oldSid))[0]?.n;
		expect(await left()).toBeLessThanOrEqual(1500); // the first 1000 at once, the rest by the alarm
		await settle(topic, async () => (await left()) === 0);
		expect(await sql(topic, "SELECT * FROM jobs")).toEqual([]);
		expect(
			(await json<{ deliveries: unknown[] }>("GET", `/v1/topics/${topic}/messages/s-00000`)).body.deliveries,
		).toEqual([]);

		await topicWithWebhook(topic, path);
		const fresh = await subscriptionStats(topic);
		expect(fresh.counts).toEqual({ scheduled: 0, in_flight: 0, delivered: 0, dead: 0 });
		expect(fresh.oldest_due_lag_ms).toBe(0);
		expect((await json<DeadPage>("GET", `/v1/topics/${topic}/subscriptions/hook/dead`)).body.dead).toEqual([]);
		const [newSid] = await sql<{ sid: number }>(topic, "SELECT sid FROM subscriptions WHERE name = 'hook'");
		expect(newSid?.sid).not.toBe(oldSid);
		await expectCountsMatchScan(topic);
	});
});
