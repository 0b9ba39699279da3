import { describe, expect, it } from "vitest";
import { api, json, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";

// Inspecting messages: detail, the filtered and paginated list, unknown ids.

type Summary = {
	id: string;
	deliver_at: string;
	deliveries: { subscription: string; state: string; attempts: number }[];
};
type Page = { messages: Summary[]; next_cursor: string | null };
type ErrorBody = { error: { code: string; issues?: { path: string }[] } };

/** Follows next_cursor through a message list; returns the pages' ids. */
async function listAll(base: string, limit: number): Promise<string[][]> {
	const pages: string[][] = [];
	let cursor: string | null = null;
	do {
		const sep = base.includes("?") ? "&" : "?";
		const url = `${base}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
		const res: { status: number; body: Page } = await json<Page>("GET", url);
		expect(res.status, url).toBe(200);
		expect(res.body.messages.length).toBeLessThanOrEqual(limit);
		pages.push(res.body.messages.map((m) => m.id));
		cursor = res.body.next_cursor;
		expect(pages.length).toBeLessThan(200);
	} while (cursor !== null);
	return pages;
}

/** Publishes messages due at `base + offsets[i]` minutes (far ahead: nothing is delivered). */
async function publishAt(topic: string, offsets: number[], base: number) {
	const items = offsets.map((m, i) => ({
		id: `m${i}`,
		body: i,
		deliver_at: new Date(base + m * 60_000).toISOString(),
	}));
	const res = await json<{ results: unknown[] }>("POST", `/v1/topics/${topic}/messages/batch`, items);
	expect(res.status).toBe(200);
	// Expected list order: newest due first, ties newest published first.
	return items
		.map((item, i) => ({ id: item.id, at: Date.parse(item.deliver_at), i }))
		.sort((a, b) => b.at - a.at || b.i - a.i);
}

describe("message detail", () => {
	it("shows each subscription's delivery with every field, null where it does not apply", async () => {
		const topic = uniqueName("steer");
		await topicWithWebhook(topic, `/hook/${topic}`);
		await json("PUT", `/v1/topics/${topic}/subscriptions/audit`, { type: "webhook", url: `${receiverUrl()}/a` });
		const pub = await json<{ deliver_at: string }>("POST", `/v1/topics/${topic}/messages`, {
			id: "m1",
			body: { a: 1 },
			delay: "1h",
			request_id: "r-1",
		});
		const detail = await json("GET", `/v1/topics/${topic}/messages/m1`);
		expect(detail.status).toBe(200);
		expect(detail.body).toMatchObject({ id: "m1", body: { a: 1 }, request_id: "r-1", deliver_at: pub.body.deliver_at });
		const scheduled = {
			state: "scheduled",
			attempts: 0,
			next_attempt_at: pub.body.deliver_at,
			last_status: null,
			last_error: null,
			delivered_at: null,
			history: [],
		};
		expect(detail.body.deliveries).toEqual([
			{ subscription: "audit", ...scheduled },
			{ subscription: "hook", ...scheduled },
		]);
	});
});

describe("message list", () => {
	it.for([0, 1, 5, 13])(
		"pages over %i messages concatenate to the full list, newest due first, exactly once",
		async (n) => {
			const topic = uniqueName("list");
			await topicWithWebhook(topic, `/hook/${topic}`);
			// Due times with ties, published out of due order.
			const offsets = Array.from({ length: n }, (_, i) => 60 + ((i * 7) % 5));
			const expected = (await publishAt(topic, offsets, Date.now())).map((m) => m.id);
			for (const limit of [1, 2, 5, 1000]) {
				const pages = await listAll(`/v1/topics/${topic}/messages`, limit);
				expect(pages.flat()).toEqual(expected);
				expect(pages.length).toBe(Math.max(1, Math.ceil(n / limit)));
			}
		},
	);

	it("filters by state, subscription and due-time bounds (inclusive), and pages the filtered list", async () => {
		const topic = uniqueName("filter");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const base = Math.floor(Date.now() / 60_000) * 60_000 + 86_400_000;
		const all = await publishAt(topic, [0, 10, 20, 30, 40, 50], base);
		// m5 and later have a delivery for the second subscription; m1 is cancelled.
		await json("PUT", `/v1/topics/${topic}/subscriptions/late`, { type: "webhook", url: `${receiverUrl()}/late` });
		await json("POST", `/v1/topics/${topic}/messages`, { id: "m6", body: 6, deliver_at: new Date(base).toISOString() });
		expect((await json("DELETE", `/v1/topics/${topic}/messages/m1`)).body).toEqual({ id: "m1", cancelled: 1 });

		const ids = async (query: string) => (await listAll(`/v1/topics/${topic}/messages?${query}`, 2)).flat();
		expect(await ids("")).toEqual(["m5", "m4", "m3", "m2", "m1", "m6", "m0"]);
		expect(await ids("state=cancelled")).toEqual(["m1"]);
		expect(await ids("state=scheduled")).toEqual(["m5", "m4", "m3", "m2", "m6", "m0"]);
		expect(await ids("state=delivered")).toEqual([]);
		expect(await ids("subscription=late")).toEqual(["m6"]);
		expect(await ids("subscription=hook&state=cancelled")).toEqual(["m1"]);
		const at = (minutes: number) => encodeURIComponent(new Date(base + minutes * 60_000).toISOString());
		expect(await ids(`from=${at(10)}&to=${at(30)}`)).toEqual(["m3", "m2", "m1"]);
		expect(await ids(`from=${at(40)}`)).toEqual(["m5", "m4"]);
		expect(await ids(`to=${(base + 10 * 60_000) / 1000}`)).toEqual(["m1", "m6", "m0"]);
		expect(await ids(`from=${at(20)}&to=${at(20)}`)).toEqual(["m2"]);
		expect(all).toHaveLength(6);

		const page = await json<Page>("GET", `/v1/topics/${topic}/messages?limit=1`);
		expect(page.body.messages[0]).toMatchObject({
			id: "m5",
			key: null,
			deliveries: [{ subscription: "hook", state: "scheduled", attempts: 0 }],
		});
		expect((await api("GET", `/v1/topics/${topic}/messages?subscription=nope`)).status).toBe(404);
	});

	it("answers bad queries with 400 naming the parameter", async () => {
		const topic = uniqueName("badq");
		await topicWithWebhook(topic, `/hook/${topic}`);
		await publishAt(topic, [60, 61], Date.now());
		const cases: [string, string][] = [
			["state=lost", "state"],
			["limit=0", "limit"],
			["limit=1001", "limit"],
			["limit=-1", "limit"],
			["from=yesterday", "from"],
			["from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "from"],
			["cursor=not-a-cursor", "cursor"],
			["subscription=bad%20name", "subscription"],
		];
		for (const [query, path] of cases) {
			const res = await json<ErrorBody>("GET", `/v1/topics/${topic}/messages?${query}`);
			expect(res.status, query).toBe(400);
			expect(
				res.body.error.issues?.map((i) => i.path),
				query,
			).toContain(path);
		}
		// A cursor of another topic.
		const other = uniqueName("badq");
		await topicWithWebhook(other, `/hook/${other}`);
		await publishAt(other, [60, 61], Date.now());
		const cursor = (await json<Page>("GET", `/v1/topics/${other}/messages?limit=1`)).body.next_cursor as string;
		const res = await json<ErrorBody>("GET", `/v1/topics/${topic}/messages?cursor=${cursor}`);
		expect(res.status).toBe(400);
		expect(res.body.error.issues?.map((i) => i.path)).toEqual(["cursor"]);
	});
});

describe("unknown messages", () => {
	it("answers 404 for an unknown message on every steering route, 400 for a bad id", async () => {
		const topic = uniqueName("steer-404");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const base = `/v1/topics/${topic}/messages`;
		const calls: [string, string, unknown?][] = [
			["GET", `${base}/nope`],
			["DELETE", `${base}/nope`],
			["POST", `${base}/nope/deliver`],
			["POST", `${base}/nope/reschedule`, { delay: "1m" }],
		];
		for (const [method, path, body] of calls) {
			const res = await json<ErrorBody>(method, path, body);
			expect(res.status, `${method} ${path}`).toBe(404);
			expect(res.body.error.code).toBe("message_not_found");
			const bad = await api(method, path.replace("nope", "bad%20id"), body);
			expect(bad.status, `${method} bad id`).toBe(400);
		}
		const unknownTopic = uniqueName("none");
		expect((await api("GET", `/v1/topics/${unknownTopic}/messages`)).status).toBe(404);
		expect((await api("DELETE", `/v1/topics/${unknownTopic}/messages/x`)).status).toBe(404);
	});
});
