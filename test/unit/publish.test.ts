import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { normalizeMessage } from "../../src/publish/normalize";
import { api, json, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";
import { sql } from "../lifecycle";

interface ErrorBody {
	error: { code: string; message: string; issues?: { path: string; message: string }[] };
}
interface Published {
	id: string;
	deliver_at: string;
	duplicate?: boolean;
}
type BatchResult = Published | ErrorBody;

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;

let topic: string;
beforeAll(async () => {
	topic = uniqueName("pub");
	await topicWithWebhook(topic, `/hook/${topic}`);
});

const publish = (body: unknown) => json<Published & ErrorBody>("POST", `/v1/topics/${topic}/messages`, body);
const batch = (items: unknown) =>
	json<{ results: BatchResult[] } & ErrorBody>("POST", `/v1/topics/${topic}/messages/batch`, items);

/** Publishes `item` and checks deliver_at = (time of the request) + delayMs. */
async function expectDelay(item: Record<string, unknown>, delayMs: number) {
	const before = Date.now();
	const res = await publish(item);
	const after = Date.now();
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	const at = Date.parse(res.body.deliver_at);
	expect(at).toBeGreaterThanOrEqual(before + delayMs);
	expect(at).toBeLessThanOrEqual(after + delayMs);
}

async function expectInvalid(item: unknown, path: string) {
	const res = await publish(item);
	expect(res.status, JSON.stringify(res.body)).toBe(400);
	expect(res.body.error.code).toBe("invalid_request");
	expect(res.body.error.issues?.map((i) => i.path)).toContain(path);
}

describe("publish one", () => {
	it("answers 201 {id, deliver_at} with the given id, stored and retrievable", async () => {
		const res = await publish({ body: { order: 42 }, id: "order-42", delay: "1h", request_id: "trace-1" });
		expect(res.status).toBe(201);
		expect(Object.keys(res.body).sort()).toEqual(["deliver_at", "id"]);
		expect(res.body.id).toBe("order-42");
		expect(res.body.deliver_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
		const got = await json("GET", `/v1/topics/${topic}/messages/order-42`);
		expect(got.body).toMatchObject({ id: "order-42", body: { order: 42 }, request_id: "trace-1" });
	});

	it("generates a unique id when none is given", async () => {
		const a = await publish({ body: 1, delay: "1h" });
		const b = await publish({ body: 1, delay: "1h" });
		expect(a.status).toBe(201);
		expect(a.body.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/);
		expect(a.body.id).not.toBe(b.body.id);
		expect((await api("GET", `/v1/topics/${topic}/messages/${a.body.id}`)).status).toBe(200);
	});

	it("treats no delay and no deliver_at as now", async () => {
		await expectDelay({ body: null }, 0);
	});

	it.each([
		[30, 30_000],
		[1.5, 1500],
		[0.001, 1],
		["250ms", 250],
		["30s", 30_000],
		["5m", 300_000],
		["2h", 7_200_000],
		["7d", 7 * DAY_MS],
		["1h30m", 5_400_000],
		["365d", 365 * DAY_MS],
	])("computes deliver_at = now + delay %j", async (delay, ms) => {
		await expectDelay({ body: 1, delay }, ms);
	});

	it.each([
		["2026-12-01T14:30:00+05:30", "2026-12-01T09:00:00.000Z"],
		["2026-12-01T09:00:00Z", "2026-12-01T09:00:00.000Z"],
		["2026-12-01T04:00:00-05:00", "2026-12-01T09:00:00.000Z"],
		["2026-12-01T09:00:00.123456Z", "2026-12-01T09:00:00.123Z"],
		["2026-12-01T09:00:00.5Z", "2026-12-01T09:00:00.500Z"],
		[1796115600, "2026-12-01T09:00:00.000Z"],
		[1796115600.123, "2026-12-01T09:00:00.123Z"],
		["2020-01-01T00:00:00Z", "2020-01-01T00:00:00.000Z"],
		[0, "1970-01-01T00:00:00.000Z"],
	])("takes deliver_at %j as %s (the past unclamped)", async (deliverAt, expected) => {
		const res = await publish({ body: 1, deliver_at: deliverAt });
		expect(res.status, JSON.stringify(res.body)).toBe(201);
		expect(res.body.deliver_at).toBe(expected);
		const got = await json("GET", `/v1/topics/${topic}/messages/${res.body.id}`);
		expect(got.body.deliver_at).toBe(expected);
	});

	it.each([
		["delay and deliver_at together", { body: 1, delay: 5, deliver_at: "2026-12-01T09:00:00Z" }, "delay"],
		["a delay over 365 days", { body: 1, delay: "366d" }, "delay"],
		["a delay over 365 days in seconds", { body: 1, delay: 365 * 86_400 + 1 }, "delay"],
		["a negative delay", { body: 1, delay: -1 }, "delay"],
		["a negative delay string", { body: 1, delay: "-5s" }, "delay"],
		["an unparseable delay", { body: 1, delay: "soon" }, "delay"],
		["a delay that is not a number or string", { body: 1, delay: true }, "delay"],
		["deliver_at more than 365 days ahead", { body: 1, deliver_at: Date.now() / 1000 + 366 * 86_400 }, "deliver_at"],
		["deliver_at without an offset", { body: 1, deliver_at: "2026-12-01T09:00:00" }, "deliver_at"],
		["deliver_at on a day that does not exist", { body: 1, deliver_at: "2026-02-30T09:00:00Z" }, "deliver_at"],
		["deliver_at far out of range", { body: 1, deliver_at: 1e20 }, "deliver_at"],
		["no body", { delay: 1 }, "body"],
		["an invalid id", { body: 1, id: "has space" }, "id"],
		["an unknown field", { body: 1, dealy: 5 }, "dealy"],
		["a text content type with an object body", { body: { a: 1 }, content_type: "text/plain" }, "body"],
		["a text content type with a number body", { body: 5, content_type: "text/plain" }, "body"],
		["a content type that is not a media type", { body: "x", content_type: "plain" }, "content_type"],
		["a request_id with a space", { body: 1, request_id: "a b" }, "request_id"],
	])("refuses %s with 400", async (_what, item, path) => {
		await expectInvalid(item, path);
	});

	it("answers a repeated id with 200 duplicate:true and the original deliver_at, storing one message", async () => {
		const first = await publish({ body: "first", id: "dup-1", delay: "1h" });
		expect(first.status).toBe(201);
		const again = await publish({ body: "second", id: "dup-1", delay: "2h" });
		expect(again).toEqual({ status: 200, body: { id: "dup-1", deliver_at: first.body.deliver_at, duplicate: true } });
		const got = await json<{ body: unknown; deliveries: unknown[] }>("GET", `/v1/topics/${topic}/messages/dup-1`);
		expect(got.body.body).toBe("first");
		expect(got.body.deliveries).toHaveLength(1);
	});

	it("limits the stored body to 1 MiB: JSON text or the string itself", async () => {
		const cases: [string, Record<string, unknown>, number][] = [
			["json-fits", { body: "x".repeat(MIB - 2) }, 201],
			["json-over", { body: "x".repeat(MIB - 1) }, 413],
			["text-fits", { body: "x".repeat(MIB), content_type: "text/plain" }, 201],
			["text-over", { body: "x".repeat(MIB + 1), content_type: "text/plain" }, 413],
			["utf8-fits", { body: "é".repeat(MIB / 2), content_type: "text/plain" }, 201],
			["utf8-over", { body: "é".repeat(MIB / 2 + 1), content_type: "text/plain" }, 413],
		];
		for (const [id, item, status] of cases) {
			const res = await publish({ ...item, id: `size-${id}`, delay: "1h" });
			expect(res.status, id).toBe(status);
			const stored = await api("GET", `/v1/topics/${topic}/messages/size-${id}`);
			expect(stored.status, id).toBe(status === 201 ? 200 : 404);
			if (status === 413) expect(res.body.error.code).toBe("body_too_large");
		}
	});

	it("allows 32 custom headers, refuses 33 and those Sundial sets", async () => {
		const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, `v${i}`]));
		const ok = await publish({ body: 1, delay: "1h", headers: headers(32) });
		expect(ok.status).toBe(201);
		const stored = await json<{ headers: object }>("GET", `/v1/topics/${topic}/messages/${ok.body.id}`);
		expect(Object.keys(stored.body.headers)).toHaveLength(32);

		await expectInvalid({ body: 1, headers: headers(33) }, "headers");
		for (const name of ["webhook-id", "Content-Type", "sundial-topic", "x-request-id", "Host", "webhook-signature"]) {
			await expectInvalid({ body: 1, headers: { [name]: "x" } }, `headers.${name}`);
		}
		await expectInvalid({ body: 1, headers: { "x-a": 5 } }, "headers.x-a");
	});

	it("keeps a text body and its content type", async () => {
		const res = await publish({ body: "<p>hi</p>", content_type: "text/html; charset=utf-8", delay: "1h" });
		expect(res.status).toBe(201);
		const got = await json("GET", `/v1/topics/${topic}/messages/${res.body.id}`);
		expect(got.body).toMatchObject({ body: "<p>hi</p>", content_type: "text/html; charset=utf-8" });
	});
});

describe("publish a batch", () => {
	it("answers one result per item in order; an invalid item does not stop the others", async () => {
		const before = Date.now();
		const res = await batch([
			{ id: "batch-a", body: 1, delay: "1h" },
			{ id: "batch-bad", body: 2, delay: -5 },
			{ id: "batch-a", body: 3, delay: "2h" },
			{ body: 4, deliver_at: "2026-12-01T09:00:00Z" },
			{ body: "x".repeat(MIB + 1), content_type: "text/plain" },
			"not an object",
		]);
		expect(res.status).toBe(200);
		const [a, bad, dup, generated, big, notObject] = res.body.results;
		expect(res.body.results).toHaveLength(6);
		expect(a).toEqual({ id: "batch-a", deliver_at: expect.any(String) });
		expect(Date.parse((a as Published).deliver_at)).toBeGreaterThanOrEqual(before + 3_600_000);
		expect(bad).toEqual({
			error: {
				code: "invalid_request",
				message: expect.any(String),
				issues: [{ path: "[1].delay", message: expect.any(String) }],
			},
		});
		expect(dup).toEqual({ id: "batch-a", deliver_at: (a as Published).deliver_at, duplicate: true });
		expect(generated).toEqual({ id: expect.any(String), deliver_at: "2026-12-01T09:00:00.000Z" });
		expect((big as ErrorBody).error.code).toBe("body_too_large");
		expect((notObject as ErrorBody).error.issues?.[0]?.path).toBe("[5]");

		expect((await json("GET", `/v1/topics/${topic}/messages/batch-a`)).body).toMatchObject({ body: 1 });
		expect((await api("GET", `/v1/topics/${topic}/messages/batch-bad`)).status).toBe(404);
	});

	it("marks an id published before as a duplicate with the original deliver_at", async () => {
		const first = await publish({ id: "batch-seen", body: 1, delay: "3h" });
		const res = await batch([{ id: "batch-seen", body: 2 }]);
		expect(res.body.results).toEqual([{ id: "batch-seen", deliver_at: first.body.deliver_at, duplicate: true }]);
	});

	it("answers a whole batch published again with each id's own stored deliver_at", async () => {
		const t = uniqueName("again");
		await topicWithWebhook(t, `/hook/${t}`);
		const items = Array.from({ length: 1000 }, (_, i) => ({ id: `again-${i}`, body: i, delay: `${7200 + i}s` }));
		const first = await json<{ results: Published[] }>("POST", `/v1/topics/${t}/messages/batch`, items);
		const again = await json<{ results: BatchResult[] }>(
			"POST",
			`/v1/topics/${t}/messages/batch`,
			items.map((m) => ({ ...m, delay: "1s" })),
		);
		expect(again.status).toBe(200);
		expect(again.body.results).toEqual(first.body.results.map((r) => ({ ...r, duplicate: true })));
		expect(new Set(first.body.results.map((r) => r.deliver_at)).size).toBe(1000);
	});

	// Stored with multi-row statements: this batch spans several of them, with duplicates of a
	// stored id and of an earlier item placed across their boundaries.
	it("stores a large batch exactly once per item and subscription, duplicates included", async () => {
		const t = uniqueName("rows");
		await topicWithWebhook(t, `/hook/${t}`);
		await json("PUT", `/v1/topics/${t}/subscriptions/second`, { type: "webhook", url: `${receiverUrl()}/hook/${t}/2` });
		await json("POST", `/v1/topics/${t}/messages`, { id: "seen", body: 0, delay: "2h" });
		const items: { id: string; body: number; delay: string }[] = Array.from({ length: 120 }, (_, i) => ({
			id: `r-${i}`,
			body: i,
			delay: `${3600 + i}s`,
		}));
		items[13] = { id: "seen", body: -1, delay: "9h" };
		items[14] = { id: "r-3", body: -1, delay: "9h" };
		items[99] = { id: "r-50", body: -1, delay: "9h" };
		const res = await json<{ results: BatchResult[] }>("POST", `/v1/topics/${t}/messages/batch`, items);
		expect(res.status).toBe(200);
		const dups = res.body.results.flatMap((r, i) => ((r as Published).duplicate ? [i] : []));
		expect(dups).toEqual([13, 14, 99]);
		expect(res.body.results[14]).toEqual({ ...(res.body.results[3] as Published), duplicate: true });
		const rows = await sql<{ n: number; messages: number; late: number }>(
			t,
			`SELECT COUNT(*) AS n, COUNT(DISTINCT d.mid) AS messages,
			        SUM(d.next_at_ms != m.deliver_at_ms) AS late
			 FROM deliveries d JOIN messages m ON m.mid = d.mid`,
		);
		expect(rows).toEqual([{ n: 2 * 118, messages: 118, late: 0 }]);
		const detail = await json<{ counts: Record<string, number>; messages: number }>("GET", `/v1/topics/${t}`);
		expect(detail.body.messages).toBe(118);
		expect(detail.body.counts.scheduled).toBe(2 * 118);
		expect((await json("GET", `/v1/topics/${t}/messages/r-3`)).body).toMatchObject({ body: 3 });
	});

	// Rows go to SQLite as JSON arrays of at most ~1.5 MB, a body too large for that bound alone:
	// this batch takes every path, and stores every item whole, in input order.
	it("stores large and small bodies of one batch whole and in order", async () => {
		const t = uniqueName("large");
		await topicWithWebhook(t, `/hook/${t}`);
		const text = (n: number): { body: unknown; content_type?: string } => ({
			body: 'é"'.repeat(n),
			content_type: "text/plain",
		});
		const items: { body: unknown; content_type?: string; id: string; delay: string }[] = [
			{ body: { small: 0 } },
			{ body: "x".repeat(600_000) },
			{ body: "small" },
			text(80_000),
			text(80_000),
			text(80_000),
			text(80_000),
			{ body: [7] },
		].map((item, i) => ({ ...item, id: `l-${i}`, delay: "1h" }));
		const res = await json<{ results: BatchResult[] }>("POST", `/v1/topics/${t}/messages/batch`, items);
		expect(res.status).toBe(200);
		expect(res.body.results.every((r) => "id" in r && !r.duplicate)).toBe(true);
		const rows = await sql<{ id: string; chars: number; deliveries: number }>(
			t,
			`SELECT id, length(body) AS chars, (SELECT COUNT(*) FROM deliveries d WHERE d.mid = m.mid) AS deliveries
			 FROM messages m ORDER BY mid`,
		);
		expect(rows).toEqual(
			items.map((item) => ({
				id: item.id,
				chars: item.content_type ? (item.body as string).length : JSON.stringify(item.body).length,
				deliveries: 1,
			})),
		);
		expect((await json("GET", `/v1/topics/${t}/messages/l-3`)).body).toMatchObject({ body: 'é"'.repeat(80_000) });
	});

	it("takes 1000 items and refuses 1001 with 413", async () => {
		const t = uniqueName("big");
		await topicWithWebhook(t, `/hook/${t}`);
		const items = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `m${i}`, body: i, delay: "1h" }));
		const tooMany = await json<ErrorBody>("POST", `/v1/topics/${t}/messages/batch`, items(1001));
		expect(tooMany.status).toBe(413);
		expect(tooMany.body.error.code).toBe("batch_too_large");
		expect((await json("GET", `/v1/topics/${t}`)).body).toMatchObject({ messages: 0 });

		const full = await json<{ results: Published[] }>("POST", `/v1/topics/${t}/messages/batch`, items(1000));
		expect(full.status).toBe(200);
		expect(full.body.results.map((r) => r.id)).toEqual(items(1000).map((i) => i.id));
		expect((await json("GET", `/v1/topics/${t}`)).body).toMatchObject({ messages: 1000 });
	});

	it.each([[{}], [{ body: 1 }], ["text"], [42], [null]])(
		"refuses a body that is not an array (%j) with 400",
		async (body) => {
			const res = await batch(body);
			expect(res.status).toBe(400);
			expect(res.body.error.code).toBe("invalid_request");
		},
	);

	it("answers an empty batch with no results", async () => {
		expect(await batch([])).toEqual({ status: 200, body: { results: [] } });
	});

	it("answers 404 for an unknown topic, even when every item is invalid", async () => {
		for (const items of [[{ body: 1 }], [{ delay: 1 }], []]) {
			const res = await json<ErrorBody>("POST", `/v1/topics/${uniqueName("nope")}/messages/batch`, items);
			expect(res.status).toBe(404);
			expect(res.body.error.code).toBe("topic_not_found");
		}
	});
});

// Common items skip zod (src/publish/normalize.ts quickParse); an empty `headers` sends the same
// item through the zod path: both must agree, for valid items and for every error.
describe("publish item parsing: the quick path and the zod path agree", () => {
	const config = getConfig(env);
	const now = Date.UTC(2026, 10, 23, 12);
	const outcome = (item: Record<string, unknown>) => {
		try {
			return normalizeMessage(item, config, now, "[0]");
		} catch (error) {
			return { thrown: (error as { toBody(): unknown }).toBody() };
		}
	};
	const items: Record<string, unknown>[] = [
		{ id: "a", body: { x: 1 } },
		{ id: "a", body: "text", delay: 30 },
		{ id: "a", body: [1, 2], delay: 0.25 },
		{ id: "a", body: null, delay: "5m" },
		{ id: "a", body: 1, deliver_at: "2026-12-01T09:00:00+02:00" },
		{ id: "a", body: 1, deliver_at: 1796119200 },
		{ id: "a", body: 1, delay: 30, deliver_at: 1796119200 },
		{ id: "a", body: 1, delay: "soon" },
		{ id: "a", body: 1, delay: -1 },
		{ id: "a", body: 1, delay: 10 ** 12 },
		{ id: "a", body: 1, delay: true },
		{ id: "a", body: 1, deliver_at: "yesterday" },
		{ id: "bad id", body: 1 },
		{ id: 7, body: 1 },
		{ id: "a" },
		{ id: "a", body: "x".repeat(2 * 1024 * 1024) },
	];
	for (const item of items) {
		it(`agrees on ${JSON.stringify(item).slice(0, 80)}`, () => {
			expect(outcome(item)).toEqual(outcome({ ...item, headers: {} }));
		});
	}
});
