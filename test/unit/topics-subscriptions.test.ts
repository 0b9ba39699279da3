import { describe, expect, it } from "vitest";
import { api, json, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";

interface ErrorBody {
	error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

/** Sends a request expected to fail; returns the issue paths after checking status and code. */
async function issuePaths(method: string, path: string, body: unknown, status = 400, code = "invalid_request") {
	const res = await json<ErrorBody>(method, path, body);
	expect(res.status, JSON.stringify(res.body)).toBe(status);
	expect(res.body.error.code).toBe(code);
	return (res.body.error.issues ?? []).map((i) => i.path);
}

const hook = (path = "/hook/x") => ({ type: "webhook", url: `${receiverUrl()}${path}` });

describe("topics", () => {
	it("creates with 201 and updates with 200, keeping created_at", async () => {
		const topic = uniqueName();
		const created = await json("PUT", `/v1/topics/${topic}`, {});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			name: topic,
			retention_ms: 7 * 86_400_000,
			partitions: 1,
			subscriptions: 0,
			messages: 0,
			counts: { scheduled: 0, in_flight: 0, delivered: 0, dead: 0, cancelled: 0 },
		});
		expect(created.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

		const updated = await json("PUT", `/v1/topics/${topic}`, { retention: 3600 });
		expect(updated.status).toBe(200);
		expect(updated.body).toMatchObject({ name: topic, retention_ms: 3_600_000, created_at: created.body.created_at });

		const got = await json("GET", `/v1/topics/${topic}`);
		expect(got.status).toBe(200);
		expect(got.body).toMatchObject({ retention_ms: 3_600_000 });
	});

	it.each([["30s"], ["366d"], [-1], ["soon"], [""], [null], [true], ["1y"]])(
		"refuses retention %j with 400 naming retention",
		async (retention) => {
			const topic = uniqueName();
			expect(await issuePaths("PUT", `/v1/topics/${topic}`, { retention })).toEqual(["retention"]);
			expect((await api("GET", `/v1/topics/${topic}`)).status).toBe(404);
		},
	);

	it("accepts retention at its bounds and refuses unknown fields", async () => {
		expect((await api("PUT", `/v1/topics/${uniqueName()}`, { retention: "1m" })).status).toBe(201);
		expect((await api("PUT", `/v1/topics/${uniqueName()}`, { retention: "365d" })).status).toBe(201);
		const paths = await issuePaths("PUT", `/v1/topics/${uniqueName()}`, { retention: "1d", partitons: 2 });
		expect(paths).toEqual(["partitons"]);
	});

	it("lists topics in pages whose concatenation is the whole list", async () => {
		const prefix = uniqueName("page");
		const mine = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
		for (const name of mine) expect((await api("PUT", `/v1/topics/${name}`, {})).status).toBe(201);

		const full = await json<{ topics: { name: string }[]; next_cursor: string | null }>("GET", "/v1/topics?limit=1000");
		expect(full.body.next_cursor).toBeNull();
		const all = full.body.topics.map((t) => t.name);
		expect(all).toEqual(expect.arrayContaining(mine));
		expect(all).toEqual([...all].sort());

		const paged: string[] = [];
		let cursor: string | null = null;
		for (let page = 0; page <= all.length; page++) {
			const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
			const res = await json<{ topics: { name: string; created_at: string }[]; next_cursor: string | null }>(
				"GET",
				`/v1/topics?limit=1${query}`,
			);
			expect(res.status).toBe(200);
			expect(res.body.topics.length).toBeLessThanOrEqual(1);
			paged.push(...res.body.topics.map((t) => t.name));
			cursor = res.body.next_cursor;
			if (cursor === null) break;
		}
		expect(cursor).toBeNull();
		expect(paged).toEqual(all);
	});

	it.each([["garbage!!"], [btoa('{"x":1}')], [btoa("[]")], ["x".repeat(600)]])(
		"refuses a cursor it did not make (%s) with 400",
		async (cursor) => {
			const res = await json<ErrorBody>("GET", `/v1/topics?cursor=${encodeURIComponent(cursor)}`);
			expect(res.status).toBe(400);
			expect(res.body.error.code).toBe("invalid_request");
			expect(res.body.error.issues?.map((i) => i.path)).toEqual(["cursor"]);
		},
	);

	it.each([["0"], ["1001"], ["ten"], ["1.5"]])("refuses limit=%s with 400 naming limit", async (limit) => {
		expect(await issuePaths("GET", `/v1/topics?limit=${limit}`, undefined)).toEqual(["limit"]);
	});

	it("deletes a topic; the name can then be created again, fresh", async () => {
		const topic = uniqueName();
		await topicWithWebhook(topic, `/hook/${topic}`);
		expect((await api("POST", `/v1/topics/${topic}/messages`, { body: 1, id: "m1", delay: "1h" })).status).toBe(201);

		const deleted = await json("DELETE", `/v1/topics/${topic}`);
		expect(deleted).toEqual({ status: 200, body: { name: topic, deleted: true } });
		expect((await api("GET", `/v1/topics/${topic}`)).status).toBe(404);
		expect((await api("DELETE", `/v1/topics/${topic}`)).status).toBe(404);
		const list = await json<{ topics: { name: string }[] }>("GET", "/v1/topics?limit=1000");
		expect(list.body.topics.map((t) => t.name)).not.toContain(topic);

		const again = await json("PUT", `/v1/topics/${topic}`, {});
		expect(again.status).toBe(201);
		expect(again.body).toMatchObject({ subscriptions: 0, messages: 0 });
		expect(await json("GET", `/v1/topics/${topic}/subscriptions`)).toEqual({
			status: 200,
			body: { subscriptions: [] },
		});
		expect((await api("GET", `/v1/topics/${topic}/messages/m1`)).status).toBe(404);
		expect((await api("POST", `/v1/topics/${topic}/messages`, { body: 1 })).status).toBe(409);
	});
});

describe("subscriptions", () => {
	it("creates with 201 and a whsec_ secret; a replacing PUT is 200 with secret null; GET never shows it", async () => {
		const topic = uniqueName();
		await api("PUT", `/v1/topics/${topic}`, {});
		const created = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, hook("/a"));
		expect(created.status).toBe(201);
		expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{20,}$/);
		expect(created.body).toMatchObject({
			name: "hook",
			type: "webhook",
			url: `${receiverUrl()}/a`,
			headers: {},
			timeout_ms: 30_000,
			queue: null,
			visibility_timeout_ms: null,
			retry: { max_attempts: 10, backoff: "exponential", base_ms: 1000, max_ms: 3_600_000, jitter: true },
			paused: false,
			counts: { scheduled: 0, in_flight: 0, delivered: 0, dead: 0 },
			oldest_due_lag_ms: 0,
		});

		const replaced = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			...hook("/b"),
			timeout: "5s",
			headers: { "X-Env": "prod" },
			retry: { max_attempts: 3, backoff: "linear" },
		});
		expect(replaced.status).toBe(200);
		expect(replaced.body).toMatchObject({
			secret: null,
			url: `${receiverUrl()}/b`,
			timeout_ms: 5000,
			headers: { "x-env": "prod" },
			retry: { max_attempts: 3, backoff: "linear", base_ms: 1000, max_ms: 3_600_000, jitter: true },
		});

		const one = await json("GET", `/v1/topics/${topic}/subscriptions/hook`);
		expect(one.status).toBe(200);
		expect(one.body).not.toHaveProperty("secret");
		expect(JSON.stringify(one.body)).not.toContain("whsec_");
		const list = await json<{ subscriptions: Record<string, unknown>[] }>("GET", `/v1/topics/${topic}/subscriptions`);
		expect(list.body.subscriptions).toHaveLength(1);
		expect(list.body.subscriptions[0]).not.toHaveProperty("secret");
		expect(JSON.stringify(list.body)).not.toContain(created.body.secret as string);
	});

	it.each([
		["missing url", { type: "webhook" }, "url"],
		["a url that is not a url", { type: "webhook", url: "not a url" }, "url"],
		["a private address", { type: "webhook", url: "http://10.0.0.1/" }, "url"],
		["the metadata address", { type: "webhook", url: "http://169.254.169.254/latest/meta-data" }, "url"],
		["a private https address", { type: "webhook", url: "https://192.168.1.1/hook" }, "url"],
		["an internal name", { type: "webhook", url: "https://metadata.google.internal/" }, "url"],
		["a non-http scheme", { type: "webhook", url: "ftp://example.com/" }, "url"],
		["credentials in the url", { type: "webhook", url: "https://u:p@example.com/" }, "url"],
		["an unknown type", { type: "email", url: "https://example.com/" }, "type"],
		["no type", { url: "https://example.com/" }, "type"],
		["max_attempts 0", { ...hook(), retry: { max_attempts: 0 } }, "retry.max_attempts"],
		["max_attempts 101", { ...hook(), retry: { max_attempts: 101 } }, "retry.max_attempts"],
		["max_attempts 2.5", { ...hook(), retry: { max_attempts: 2.5 } }, "retry.max_attempts"],
		["an unknown backoff", { ...hook(), retry: { backoff: "random" } }, "retry.backoff"],
		["max below base", { ...hook(), retry: { base: "10s", max: "1s" } }, "retry.max"],
		["timeout 10m", { ...hook(), timeout: "10m" }, "timeout"],
		["timeout 0", { ...hook(), timeout: 0 }, "timeout"],
		["a header name with a space", { ...hook(), headers: { "bad name": "v" } }, "headers.bad name"],
		["a header name with a colon", { ...hook(), headers: { "x:y": "v" } }, "headers.x:y"],
		["a reserved header", { ...hook(), headers: { "Webhook-Signature": "v" } }, "headers.Webhook-Signature"],
		["a header value with a newline", { ...hook(), headers: { "x-a": "a\r\nb: c" } }, "headers.x-a"],
	])("refuses %s with 400 naming the field", async (_what, body, field) => {
		const topic = uniqueName();
		await api("PUT", `/v1/topics/${topic}`, {});
		expect(await issuePaths("PUT", `/v1/topics/${topic}/subscriptions/s`, body)).toContain(field);
		expect((await api("GET", `/v1/topics/${topic}/subscriptions/s`)).status).toBe(404);
	});

	it("refuses unknown fields, also inside retry", async () => {
		const topic = uniqueName();
		await api("PUT", `/v1/topics/${topic}`, {});
		const top = await issuePaths("PUT", `/v1/topics/${topic}/subscriptions/s`, { ...hook(), secret: "mine" });
		expect(top).toEqual(["secret"]);
		const inner = await issuePaths("PUT", `/v1/topics/${topic}/subscriptions/s`, { ...hook(), retry: { tries: 3 } });
		expect(inner).toEqual(["retry.tries"]);
	});

	it("allows loopback http only because SUNDIAL_ALLOW_HTTP is set in tests", async () => {
		const topic = uniqueName();
		await api("PUT", `/v1/topics/${topic}`, {});
		const res = await api("PUT", `/v1/topics/${topic}/subscriptions/local`, hook("/ok"));
		expect(res.status).toBe(201);
	});

	it("deletes a subscription and its deliveries", async () => {
		const topic = uniqueName();
		await topicWithWebhook(topic, `/hook/${topic}`);
		await api("PUT", `/v1/topics/${topic}/subscriptions/other`, hook(`/hook/${topic}/other`));
		await api("POST", `/v1/topics/${topic}/messages`, { body: 1, id: "m1", delay: "1h" });

		expect(await json("DELETE", `/v1/topics/${topic}/subscriptions/hook`)).toEqual({
			status: 200,
			body: { name: "hook", deleted: true },
		});
		const gone = await json<ErrorBody>("GET", `/v1/topics/${topic}/subscriptions/hook`);
		expect(gone.status).toBe(404);
		expect(gone.body.error.code).toBe("subscription_not_found");
		expect((await api("DELETE", `/v1/topics/${topic}/subscriptions/hook`)).status).toBe(404);

		const detail = await json<{ deliveries: { subscription: string }[] }>("GET", `/v1/topics/${topic}/messages/m1`);
		expect(detail.body.deliveries.map((d) => d.subscription)).toEqual(["other"]);
		const stats = await json("GET", `/v1/topics/${topic}`);
		expect(stats.body).toMatchObject({ subscriptions: 1, counts: { scheduled: 1 } });
	});

	it("lists each subscription with counts and oldest_due_lag_ms", async () => {
		const topic = uniqueName();
		await topicWithWebhook(topic, `/hook/${topic}`);
		await api("PUT", `/v1/topics/${topic}/subscriptions/paused`, { ...hook(`/hook/${topic}/p`), paused: true });
		const due = new Date(Date.now() - 60_000).toISOString();
		expect((await api("POST", `/v1/topics/${topic}/messages`, { body: 1, deliver_at: due })).status).toBe(201);
		expect((await api("POST", `/v1/topics/${topic}/messages`, { body: 2, delay: "1h" })).status).toBe(201);

		const list = await json<{ subscriptions: { name: string; counts: object; oldest_due_lag_ms: number }[] }>(
			"GET",
			`/v1/topics/${topic}/subscriptions`,
		);
		const byName = Object.fromEntries(list.body.subscriptions.map((s) => [s.name, s]));
		expect(Object.keys(byName).sort()).toEqual(["hook", "paused"]);
		expect(byName.paused).toMatchObject({
			paused: true,
			counts: { scheduled: 2, in_flight: 0, delivered: 0, dead: 0 },
		});
		expect(byName.paused?.oldest_due_lag_ms).toBeGreaterThanOrEqual(60_000);
		expect(byName.paused?.oldest_due_lag_ms).toBeLessThan(120_000);
		const hookSub = byName.hook as { counts: Record<"scheduled" | "in_flight" | "delivered" | "dead", number> };
		expect(hookSub.counts.scheduled + hookSub.counts.in_flight + hookSub.counts.delivered).toBe(2);
		expect(hookSub.counts.dead).toBe(0);
	});

	it("refuses publishing to a topic with no subscriptions with 409", async () => {
		const topic = uniqueName();
		await api("PUT", `/v1/topics/${topic}`, {});
		for (const [path, body] of [
			["messages", { body: 1 }],
			["messages/batch", [{ body: 1 }]],
		] as const) {
			const res = await json<ErrorBody>("POST", `/v1/topics/${topic}/${path}`, body);
			expect(res.status).toBe(409);
			expect(res.body.error.code).toBe("no_subscriptions");
		}
		expect((await json("GET", `/v1/topics/${topic}`)).body).toMatchObject({ messages: 0 });
	});
});
