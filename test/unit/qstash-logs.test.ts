import { describe, expect, it } from "vitest";
import { CLAIM_AHEAD_MS } from "../../src/topic/dispatcher";
import { api, behave, receiverUrl, uniqueName, v2 } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";

type Log = {
	time: number;
	state: string;
	messageId: string;
	url: string;
	topicName?: string;
	endpointName?: string;
	labels?: string[];
	nextDeliveryTime?: number;
	error?: string;
	responseStatus?: number;
};

const call = v2;

async function publish(destination: string, body: string, headers: Record<string, string> = {}): Promise<string> {
	const res = await call("POST", `/v2/publish/${destination}`, headers, body);
	expect(res.status).toBe(200);
	return ((await res.json()) as { messageId: string }).messageId;
}

async function logsOf(query: string): Promise<{ events: Log[]; cursor?: string }> {
	const res = await call("GET", `/v2/events?${query}`);
	expect(res.status, query).toBe(200);
	return (await res.json()) as { events: Log[]; cursor?: string };
}

/** Every event of the query, walking the cursor with `count` per page. */
async function allLogs(query: string, count: number): Promise<Log[]> {
	const out: Log[] = [];
	let cursor: string | undefined;
	do {
		const page = await logsOf(`${query}&count=${count}${cursor ? `&cursor=${cursor}` : ""}`);
		expect(page.events.length).toBeGreaterThan(0);
		out.push(...page.events);
		cursor = page.cursor;
	} while (cursor);
	return out;
}

describe("/v2/events and /v2/logs", () => {
	it("records a message's states in order, newest first: CREATED, ACTIVE, RETRY (with its error and next time), ACTIVE, DELIVERED", async () => {
		const path = `/v2logs/${uniqueName("r")}`;
		await behave(path, { status: 503 });
		const url = `${receiverUrl()}${path}`;
		const id = await publish(url, "x", { "upstash-retries": "1", "upstash-retry-delay": "300", "upstash-label": "l1" });
		await waitForReceived(path, 1);
		await behave(path, { status: 200 });
		const events = await waitFor("DELIVERED", async () => {
			const page = await logsOf(`messageId=${id}`);
			return page.events[0]?.state === "DELIVERED" ? page.events : undefined;
		});
		expect(events.map((e) => e.state)).toEqual(["DELIVERED", "ACTIVE", "RETRY", "ACTIVE", "CREATED"]);
		for (const e of events) expect(e).toMatchObject({ messageId: id, url, labels: ["l1"] });
		const retry = events[2] as Log;
		expect(retry.responseStatus).toBe(503);
		expect(retry.error).toBe("HTTP 503");
		// The retry is due 300 ms after the first attempt's answer, and the second attempt starts then.
		expect(retry.nextDeliveryTime).toBeGreaterThanOrEqual((events[3] as Log).time + 300);
		expect((events[1] as Log).time).toBeGreaterThanOrEqual((retry.nextDeliveryTime as number) - CLAIM_AHEAD_MS);
		expect(events[0]).toMatchObject({ responseStatus: 200 });
		expect(events[4]?.nextDeliveryTime).toBeUndefined();
		for (let i = 1; i < events.length; i++)
			expect(events[i - 1]?.time).toBeGreaterThanOrEqual(events[i]?.time as number);
		// The same under the key `logs`.
		const logs = (await (await call("GET", `/v2/logs?messageId=${id}`)).json()) as { logs: Log[] };
		expect(logs.logs).toEqual(events);
	});

	it("filters by state (IN_PROGRESS = ACTIVE or RETRY), url, label and host; a /v1 message writes no events", async () => {
		const path = `/v2logs/${uniqueName("f")}`;
		await behave(path, { status: 200 });
		const url = `${receiverUrl()}${path}`;
		const a = await publish(url, "a", { "upstash-label": "fa" });
		const b = await publish(url, "b", { "upstash-delay": "1h" });
		await waitForReceived(path, 1);
		await waitFor("a delivered", async () =>
			(await logsOf(`messageId=${a}&state=DELIVERED`)).events.length === 1 ? true : undefined,
		);
		expect(
			(await logsOf(`url=${encodeURIComponent(url)}&state=CREATED`)).events.map((e) => e.messageId).sort(),
		).toEqual([a, b].sort());
		expect((await logsOf(`label=fa&url=${encodeURIComponent(url)}`)).events.every((e) => e.messageId === a)).toBe(true);
		expect((await logsOf(`messageId=${a}&state=IN_PROGRESS`)).events.map((e) => e.state)).toEqual(["ACTIVE"]);
		expect((await logsOf(`messageId=${b}&host=elsewhere.example`)).events).toEqual([]);
		// A /v1 topic's message leaves no log row.
		const topic = uniqueName("v1");
		await api("PUT", `/v1/topics/${topic}`, {});
		await api("PUT", `/v1/topics/${topic}/subscriptions/hook`, { type: "webhook", url });
		await api("POST", `/v1/topics/${topic}/messages`, { body: { v1: true } });
		await waitForReceived(path, 2);
		expect((await logsOf(`topicName=${topic}`)).events).toEqual([]);
	});

	it("shows a group's events with topicName and endpointName, and a cancel as CANCELLED", async () => {
		const group = uniqueName("lg");
		const target = `${receiverUrl()}/v2logs/${group}`;
		const made = await call(
			"POST",
			`/v2/topics/${group}/endpoints`,
			{ "content-type": "application/json" },
			JSON.stringify({ endpoints: [{ name: "e1", url: target }] }),
		);
		expect(made.status).toBe(200);
		const res = await call("POST", `/v2/publish/${group}`, { "upstash-delay": "1h" }, "g");
		const [{ messageId }] = (await res.json()) as [{ messageId: string }];
		expect((await call("DELETE", `/v2/messages/${messageId}`)).status).toBe(200);
		const events = (await logsOf(`topicName=${group}`)).events;
		expect(events.map((e) => e.state)).toEqual(["CANCELLED", "CREATED"]);
		for (const e of events) expect(e).toMatchObject({ messageId, topicName: group, endpointName: "e1", url: target });
	});

	it("pages newest first with a millisecond cursor: every event once, none missed", async () => {
		const path = `/v2logs/${uniqueName("p")}`;
		const url = `${receiverUrl()}${path}`;
		// Batch: many events share one millisecond, so pages must not split it.
		const items = Array.from({ length: 12 }, (_, i) => ({
			destination: url,
			headers: { "upstash-delay": "1h", "upstash-label": "paged" },
			body: `m${i}`,
		}));
		expect(
			(await call("POST", "/v2/batch", { "content-type": "application/json" }, JSON.stringify(items))).status,
		).toBe(200);
		const whole = (await logsOf(`label=paged&count=100`)).events;
		expect(whole).toHaveLength(12);
		for (const count of [1, 5, 11]) {
			const paged = await allLogs("label=paged", count);
			expect(paged.map((e) => e.messageId)).toEqual(whole.map((e) => e.messageId));
		}
		// Published one by one: events in different milliseconds, so pages end between them.
		for (let i = 0; i < 6; i++) await publish(url, `s${i}`, { "upstash-delay": "1h", "upstash-label": "one-by-one" });
		const single = (await logsOf("label=one-by-one")).events;
		expect(single).toHaveLength(6);
		for (const count of [1, 2, 4]) {
			const paged = await allLogs("label=one-by-one", count);
			expect(paged.map((e) => e.messageId)).toEqual(single.map((e) => e.messageId));
		}
		// A cursor the SDK's docs use: now, in ms.
		expect((await logsOf(`label=paged&cursor=${Date.now() + 1000}`)).events).toHaveLength(12);
	});

	it("refuses unknown parameters and malformed values with 400", async () => {
		for (const query of ["nope=1", "count=0", "count=101", "cursor=abc", "fromDate=yesterday", "state=DONE"]) {
			const res = await call("GET", `/v2/events?${query}`);
			expect(res.status, query).toBe(400);
			expect(await res.json()).toEqual({ error: expect.any(String) });
		}
	});
});
