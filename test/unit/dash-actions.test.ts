import { describe, expect, it } from "vitest";
import { deadCount, scopedToken, topicWithDead } from "../dash-fixtures";
import { dash, ORIGIN, signIn } from "../dash-helpers";
import { json, uniqueName } from "../helpers";

/** Dashboard actions: CSRF, scopes, what each changes; the cookie-checked tail (docs/API.md "Dashboard"). */

const redrivePath = (topic: string) => `/dash/topics/${topic}/subscriptions/hook/redrive`;

describe("dashboard actions: CSRF", () => {
	it("refuses a missing or wrong CSRF token, a foreign Origin and a cross-site fetch with 403, changing nothing", async () => {
		const topic = await topicWithDead(["m-1", "m-2"]);
		const session = await signIn();
		const refused: [string, Parameters<typeof dash>[1]][] = [
			["no token", { session, form: {}, csrf: null }],
			["wrong token", { session, form: {}, csrf: "x".repeat(43) }],
			["another session's token", { session, form: {}, csrf: (await signIn()).csrf }],
			[
				"foreign Origin",
				{ session, form: {}, headers: { origin: "https://evil.example", "sec-fetch-site": "same-origin" } },
			],
			["cross-site", { session, form: {}, headers: { "sec-fetch-site": "cross-site" } }],
			["same-site", { session, form: {}, headers: { "sec-fetch-site": "same-site" } }],
			["null Origin alone", { session, form: {}, headers: { origin: "null", "sec-fetch-site": "" } }],
		];
		for (const [why, opts] of refused) {
			for (const path of [redrivePath(topic), `/dash/topics/${topic}/subscriptions/hook/purge`]) {
				const res = await dash(path, opts);
				expect(res.status, `${why} ${path}`).toBe(403);
				expect(await res.text()).toContain("403 Forbidden");
			}
		}
		// Neither Origin nor Sec-Fetch-Site: refused too.
		const bare = await dash(redrivePath(topic), { session, form: {}, headers: { origin: "", "sec-fetch-site": "" } });
		expect(bare.status).toBe(403);
		const publish = await dash(`/dash/topics/${topic}/publish`, { session, form: { body: "1" }, csrf: null });
		expect(publish.status).toBe(403);
		expect(await deadCount(topic)).toBe(2);
		const messages = await json<{ messages: unknown[] }>("GET", `/v1/topics/${topic}/messages`);
		expect(messages.body.messages).toHaveLength(2);
	});

	it("refuses every action without a session (401) before reading anything", async () => {
		const topic = await topicWithDead(["m-1"]);
		for (const path of [redrivePath(topic), `/dash/topics/${topic}/publish`, "/dash/logout"]) {
			const res = await dash(path, { form: { csrf: "x" }, csrf: null });
			expect(res.status, path).toBe(401);
		}
		expect(await deadCount(topic)).toBe(1);
	});
});

describe("dashboard actions: scopes", () => {
	it("a read-only token sees the pages without action buttons, and its redrive and purge are 403", async () => {
		const topic = await topicWithDead(["m-1"]);
		const session = await signIn(await scopedToken(["read"], [topic]));
		const page = await dash(`/dash/topics/${topic}`, { session });
		expect(page.status).toBe(200);
		const html = await page.text();
		expect(html).toContain("m-1");
		expect(html).not.toContain("Redrive");
		expect(html).not.toContain("Purge");
		expect(html).not.toContain(`action="/dash/topics/${topic}/publish"`);
		for (const [path, form] of [
			[redrivePath(topic), { id: "m-1" }],
			[`/dash/topics/${topic}/subscriptions/hook/purge`, {}],
		] as const) {
			const res = await dash(path, { session, form });
			expect(res.status, path).toBe(403);
			expect(await res.text()).toContain("admin");
		}
		expect((await dash(`/dash/topics/${topic}/publish`, { session, form: { body: "1" } })).status).toBe(403);
		expect(await deadCount(topic)).toBe(1);
	});

	it("a token for other topics gets 403 pages for this one", async () => {
		const topic = await topicWithDead(["m-1"]);
		const session = await signIn(await scopedToken(["admin"], ["elsewhere-*"]));
		expect((await dash(`/dash/topics/${topic}`, { session })).status).toBe(403);
		expect((await dash(`/dash/message?topic=${topic}&id=m-1`, { session })).status).toBe(403);
		expect((await dash(redrivePath(topic), { session, form: {} })).status).toBe(403);
		const list = await (await dash("/dash", { session })).text();
		expect(list).not.toContain(topic);
		expect(await deadCount(topic)).toBe(1);
	});
});

describe("dashboard actions: what they do", () => {
	it("redrives one dead letter, then all, and purges", async () => {
		const topic = await topicWithDead(["m-1", "m-2", "m-3"]);
		const session = await signIn();
		const one = await dash(redrivePath(topic), { session, form: { id: "m-1" } });
		expect(one.status).toBe(303);
		expect(one.headers.get("location")).toBe(`/dash/topics/${topic}?done=redriven&n=1`);
		expect(await deadCount(topic)).toBe(2);
		const notice = await (await dash(one.headers.get("location") as string, { session })).text();
		expect(notice).toContain("Redriven: 1 scheduled again now.");
		expect((await dash(redrivePath(topic), { session, form: {} })).headers.get("location")).toContain("n=2");
		expect(await deadCount(topic)).toBe(0);
		const again = await topicWithDead(["p-1"]);
		const purged = await dash(`/dash/topics/${again}/subscriptions/hook/purge`, { session, form: {} });
		expect(purged.headers.get("location")).toBe(`/dash/topics/${again}?done=purged&n=1`);
		expect(await deadCount(again)).toBe(0);
	});

	it("publishes JSON or text from the form, with delay, id and key", async () => {
		const topic = await topicWithDead([]);
		const session = await signIn();
		const sent = await dash(`/dash/topics/${topic}/publish`, {
			session,
			form: { body: '{"a": 1}', delay: "1h", id: "form-1", key: "k-1" },
		});
		expect(sent.status).toBe(303);
		expect(sent.headers.get("location")).toBe(`/dash/topics/${topic}?done=published&name=form-1`);
		const stored = await json<{ body: unknown; key: string; deliver_at: string }>(
			"GET",
			`/v1/topics/${topic}/messages/form-1`,
		);
		expect(stored.body).toMatchObject({ body: { a: 1 }, key: "k-1" });
		expect(Date.parse(stored.body.deliver_at) - Date.now()).toBeGreaterThan(3_500_000);
		await dash(`/dash/topics/${topic}/publish`, {
			session,
			form: { body: "plain <text>", content_type: "text/plain", id: "form-2", delay: "60" },
		});
		expect((await json("GET", `/v1/topics/${topic}/messages/form-2`)).body).toMatchObject({ body: "plain <text>" });
	});

	it("answers bad form fields with a readable 400 page naming the field, publishing nothing", async () => {
		const topic = await topicWithDead([]);
		const session = await signIn();
		const publish = `/dash/topics/${topic}/publish`;
		for (const [form, field] of [
			[{ body: "{not json" }, "body"],
			[{}, "body"],
			[{ body: "1", delay: "soon" }, "delay"],
			[{ body: "1", id: "bad id" }, "id"],
			[{ body: "1", content_type: "text/html" }, "content_type"],
			[{ body: "1", extra: "x" }, "extra"],
			[{ body: "1", key: "\u0001" }, "key"],
		] as [Record<string, string>, string][]) {
			const res = await dash(publish, { session, form });
			expect(res.status, JSON.stringify(form)).toBe(400);
			const html = await res.text();
			expect(html, JSON.stringify(form)).toContain("400 Bad request");
			expect(html, JSON.stringify(form)).toContain(`<code>${field}</code>`);
		}
		expect((await dash(redrivePath(topic), { session, form: { id: "<bad>" } })).status).toBe(400);
		expect((await dash(`/dash/topics/bad%20topic/publish`, { session, form: { body: "1" } })).status).toBe(400);
		for (const [path, form] of [
			[`/dash/topics/${topic}/schedules/bad%20name/pause`, {}],
			[`/dash/topics/${topic}/schedules/ok/resume`, { extra: "x" }],
			[`/dash/topics/${topic}/subscriptions/hook/purge`, { ids: "m-1" }],
			[`/dash/topics/${topic}/subscriptions/-bad/redrive`, {}],
		] as [string, Record<string, string>][]) {
			const res = await dash(path, { session, form });
			expect(res.status, path).toBe(400);
			expect(await res.text(), path).toContain("400 Bad request");
		}
		const json415 = await dash(publish, {
			session,
			method: "POST",
			headers: { "content-type": "application/json" },
		});
		expect(json415.status).toBe(415);
		const messages = await json<{ messages: unknown[] }>("GET", `/v1/topics/${topic}/messages`);
		expect(messages.body.messages).toHaveLength(0);
		expect((await dash("/dash/logout", { session })).status).toBe(404);
	});

	it("pauses and resumes a schedule", async () => {
		const topic = await topicWithDead([]);
		const made = await json("PUT", `/v1/topics/${topic}/schedules/nightly`, { cron: "0 2 * * *", body: 1 });
		expect(made.status).toBe(201);
		const session = await signIn();
		const paused = await dash(`/dash/topics/${topic}/schedules/nightly/pause`, { session, form: {} });
		expect(paused.headers.get("location")).toBe(`/dash/topics/${topic}?done=paused&name=nightly`);
		expect((await json("GET", `/v1/topics/${topic}/schedules/nightly`)).body).toMatchObject({ paused: true });
		const page = await (await dash(`/dash/topics/${topic}`, { session })).text();
		expect(page).toContain(`action="/dash/topics/${topic}/schedules/nightly/resume"`);
		await dash(`/dash/topics/${topic}/schedules/nightly/resume`, { session, form: {} });
		expect((await json("GET", `/v1/topics/${topic}/schedules/nightly`)).body).toMatchObject({ paused: false });
		expect((await dash(`/dash/topics/${topic}/schedules/none/pause`, { session, form: {} })).status).toBe(404);
	});
});

describe("dashboard: the cookie-checked tail", () => {
	const tail = (topic: string, headers: Record<string, string>) =>
		dash(`/dash/topics/${topic}/tail`, { headers: { upgrade: "websocket", ...headers } });

	it("refuses without a session, from another origin, without read on the topic, and plain GETs", async () => {
		const topic = await topicWithDead([]);
		expect((await tail(topic, { origin: ORIGIN })).status).toBe(401);
		const session = await signIn();
		const cookie = session.cookie;
		expect((await tail(topic, { cookie, origin: "https://evil.example" })).status).toBe(403);
		expect((await tail(topic, { cookie })).status).toBe(403);
		expect((await dash(`/dash/topics/${topic}/tail`, { session })).status).toBe(426);
		const publisher = await signIn(await scopedToken(["publish"], [topic]));
		const refused = await tail(topic, { cookie: publisher.cookie, origin: ORIGIN });
		expect(refused.status).toBe(403);
		expect(refused.webSocket).toBeNull();
		expect((await tail(uniqueName("none"), { cookie, origin: ORIGIN })).status).toBe(404);
	});

	it("upgrades a same-origin session with read, answering the tail's subprotocol and never passing a token on", async () => {
		const topic = await topicWithDead([]);
		const session = await signIn(await scopedToken(["read"], [topic]));
		const res = await tail(topic, {
			cookie: session.cookie,
			origin: ORIGIN,
			"sec-websocket-protocol": "sundial.tail.v1, sundial.auth.eA",
		});
		expect(res.status).toBe(101);
		expect(res.headers.get("sec-websocket-protocol")).toBe("sundial.tail.v1");
		const ws = res.webSocket as WebSocket;
		ws.accept();
		const first = await new Promise<string>((resolve) =>
			ws.addEventListener("message", (m) => resolve(m.data as string), { once: true }),
		);
		expect(JSON.parse(first)).toMatchObject({ type: "ready", topic });
		ws.close(1000, "done");
	});
});
