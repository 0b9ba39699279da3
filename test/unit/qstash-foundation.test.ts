import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import { api, json, TOKEN, uniqueName } from "../helpers";

type QstashError = { error: string };
type UrlGroup = { name: string; createdAt: number; updatedAt: number; endpoints: { name: string; url: string }[] };

describe("/v2 basics", () => {
	it("answers QStash's error shape: 401 without or with a wrong token, 404 unknown route, 405 wrong method", async () => {
		const none = await exportsFetch("/v2/keys", {});
		expect(none.status).toBe(401);
		expect(await none.json()).toEqual({ error: expect.any(String) });
		const wrong = await exportsFetch("/v2/keys", { authorization: "Bearer nope" });
		expect(wrong.status).toBe(401);
		const unknown = await json<QstashError>("GET", "/v2/nothing-here");
		expect(unknown.status).toBe(404);
		expect(unknown.body).toEqual({ error: expect.any(String) });
		const method = await json<QstashError>("PUT", "/v2/keys");
		expect(method.status).toBe(405);
		expect(method.body).toEqual({ error: expect.any(String) });
	});

	it("GET /v2/keys answers the configured signing keys", async () => {
		expect((await json("GET", "/v2/keys")).body).toEqual({
			current: "sig_TestCurrentKey1111111111111111",
			next: "sig_TestNextKey22222222222222222222",
		});
	});

	it("refuses to work (503) when a signing key is missing, after the token check", async () => {
		const app = createApp();
		const noKeys = { ...env, SUNDIAL_QSTASH_NEXT_SIGNING_KEY: undefined };
		const res = await app.request("/v2/topics", { headers: { authorization: `Bearer ${TOKEN}` } }, noKeys);
		expect(res.status).toBe(503);
		expect(await res.json()).toEqual({ error: "QStash signing keys are not configured" });
		const anonymous = await app.request("/v2/topics", {}, noKeys);
		expect(anonymous.status).toBe(401);
	});

	it.each([
		["POST", "/v2/keys/rotate"],
		["POST", "/v2/workflows/x"],
	])("%s %s is 501 with QStash's error shape", async (method, path) => {
		const res = await json<QstashError>(method, path);
		expect(res.status).toBe(501);
		expect(res.body.error).toMatch(/is not supported by Sundial$/);
	});
});

describe("/v2 URL groups", () => {
	it("adds endpoints (creating the group as a topic), lists, gets, removes; the last removal deletes it", async () => {
		const name = uniqueName("group");
		const a = "http://127.0.0.1:9/a";
		const b = "http://127.0.0.1:9/b";
		const added = await json("POST", `/v2/topics/${name}/endpoints`, {
			endpoints: [{ name: "first", url: a }, { url: b }],
		});
		expect(added).toEqual({ status: 200, body: {} });
		// The same URL again is kept once.
		await json("POST", `/v2/topics/${name}/endpoints`, { endpoints: [{ url: a }] });
		const group = await json<UrlGroup>("GET", `/v2/topics/${name}`);
		expect(group.body.name).toBe(name);
		expect(group.body.createdAt).toBeGreaterThan(Date.now() - 60_000);
		expect(group.body.endpoints).toEqual([
			{ name: expect.stringMatching(/^ep-[0-9a-f]{12}$/), url: b },
			{ name: "first", url: a },
		]);
		const list = await json<UrlGroup[]>("GET", "/v2/topics");
		expect(list.body.find((g) => g.name === name)?.endpoints).toHaveLength(2);
		// The group is a /v1 topic with webhook subscriptions.
		expect((await json("GET", `/v1/topics/${name}/subscriptions/first`)).body).toMatchObject({
			type: "webhook",
			url: a,
		});

		expect((await json("DELETE", `/v2/topics/${name}/endpoints`, { endpoints: [{}] })).status).toBe(400);
		await json("DELETE", `/v2/topics/${name}/endpoints`, { endpoints: [{ name: "first" }] });
		expect((await json<UrlGroup>("GET", `/v2/topics/${name}`)).body.endpoints.map((e) => e.url)).toEqual([b]);
		await json("DELETE", `/v2/topics/${name}/endpoints`, { endpoints: [{ url: b }] });
		expect((await api("GET", `/v2/topics/${name}`)).status).toBe(404);
		expect((await api("GET", `/v1/topics/${name}`)).status).toBe(404);
	});

	it("DELETE /v2/topics/{name} deletes the group; an unknown one is 404", async () => {
		const name = uniqueName("gdel");
		await json("POST", `/v2/topics/${name}/endpoints`, { endpoints: [{ url: "http://127.0.0.1:9/x" }] });
		expect(await json("DELETE", `/v2/topics/${name}`)).toEqual({ status: 200, body: {} });
		expect((await json<QstashError>("DELETE", `/v2/topics/${name}`)).status).toBe(404);
	});

	it.each([
		[{ endpoints: [] }],
		[{ endpoints: [{ url: "ftp://example.com/x" }] }],
		[{ endpoints: [{ url: "http://10.0.0.1/x" }] }],
		[{ endpoints: [{ name: "bad name", url: "http://127.0.0.1:9/x" }] }],
		[{ endpoints: [{ url: "http://127.0.0.1:9/x", extra: 1 }] }],
		[{}],
	])("refuses %j with 400 and creates nothing", async (body) => {
		const name = uniqueName("gbad");
		const res = await json<QstashError>("POST", `/v2/topics/${name}/endpoints`, body);
		expect(res.status).toBe(400);
		expect(res.body).toEqual({ error: expect.any(String) });
		expect((await api("GET", `/v1/topics/${name}`)).status).toBe(404);
	});

	it("refuses an endpoint whose name another subscription has (409), replacing nothing and adding nothing", async () => {
		const name = uniqueName("gtaken");
		expect((await json("PUT", `/v1/topics/${name}`, {})).status).toBe(201);
		const pull = await json("PUT", `/v1/topics/${name}/subscriptions/workers`, { type: "pull" });
		expect(pull.status).toBe(201);
		const res = await json<QstashError>("POST", `/v2/topics/${name}/endpoints`, {
			endpoints: [
				{ name: "fresh", url: "http://127.0.0.1:9/fresh" },
				{ name: "workers", url: "http://127.0.0.1:9/w" },
			],
		});
		expect(res.status).toBe(409);
		expect(res.body.error).toContain('"workers" (a pull subscription)');
		const subs = await json<{ subscriptions: { name: string; type: string }[] }>(
			"GET",
			`/v1/topics/${name}/subscriptions`,
		);
		expect(subs.body.subscriptions.map((s) => [s.name, s.type])).toEqual([["workers", "pull"]]);
		// An endpoint of the group with another URL under the same name: refused too.
		await json("POST", `/v2/topics/${name}/endpoints`, { endpoints: [{ name: "hook", url: "http://127.0.0.1:9/a" }] });
		const again = await json<QstashError>("POST", `/v2/topics/${name}/endpoints`, {
			endpoints: [{ name: "hook", url: "http://127.0.0.1:9/b" }],
		});
		expect(again.status).toBe(409);
		expect((await json<UrlGroup>("GET", `/v2/topics/${name}`)).body.endpoints).toEqual([
			{ name: "hook", url: "http://127.0.0.1:9/a" },
		]);
	});

	it("refuses two endpoints of one name with different URLs in one request, creating no group", async () => {
		const name = uniqueName("gtwice");
		const res = await json<QstashError>("POST", `/v2/topics/${name}/endpoints`, {
			endpoints: [
				{ name: "x", url: "http://127.0.0.1:9/1" },
				{ name: "x", url: "http://127.0.0.1:9/2" },
			],
		});
		expect(res.status).toBe(409);
		expect((await api("GET", `/v1/topics/${name}`)).status).toBe(404);
	});

	it("refuses a group name outside Sundial's name rule with 400 (the system topic ~qstash included)", async () => {
		const res = await json<QstashError>("POST", "/v2/topics/~qstash/endpoints", {
			endpoints: [{ url: "http://127.0.0.1:9/x" }],
		});
		expect(res.status).toBe(400);
	});
});

function exportsFetch(path: string, headers: Record<string, string>): Promise<Response> {
	return Promise.resolve(createApp().request(path, { headers }, env));
}
