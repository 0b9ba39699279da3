import { describe, expect, it } from "vitest";
import { asLateness, LatenessSection } from "../../src/dash/pages/lateness";
import { type Message, MessagePage } from "../../src/dash/pages/message";
import { HOSTILE, topicWithDead } from "../dash-fixtures";
import { dash, signIn } from "../dash-helpers";
import { json, uniqueName } from "../helpers";

/** Dashboard pages: what they show, escaping, bad input (docs/API.md "Dashboard"). */

const RAW = /<script>alert|<img src=x/;

describe("dashboard pages", () => {
	it("lists topics with partitions, counts per state and lag", async () => {
		const topic = await topicWithDead(["m-1"]);
		const session = await signIn();
		// Other files' topics share this runtime: follow the pages until the topic's row.
		let path = "/dash?";
		let html = "";
		for (let page = 0; page < 50; page++) {
			const res = await dash(path, { session });
			expect(res.status).toBe(200);
			html = await res.text();
			expect(html).toContain("partitions");
			expect(html).toContain("Message lookup");
			const next = html.match(/href="(\/dash\?cursor=[^"]+)">Next page/)?.[1];
			if (html.includes(`href="/dash/topics/${topic}"`) || !next) break;
			path = next;
		}
		expect(html).toContain(`href="/dash/topics/${topic}"`);
	});

	it("shows a topic: subscriptions with limits and held back, lateness or 'not available', live section, actions", async () => {
		const topic = await topicWithDead(["m-1", "m-2"]);
		const limited = await json("PUT", `/v1/topics/${topic}/subscriptions/limited`, {
			type: "webhook",
			url: "http://127.0.0.1:9/never",
			paused: true,
			rate: { limit: 5, period: "1s" },
			parallelism: 2,
			ordering: "key",
		});
		expect(limited.status, JSON.stringify(limited.body)).toBe(201);
		const html = await (await dash(`/dash/topics/${topic}`, { session: await signIn() })).text();
		expect(html).toContain("rate 5 per 1.0 s, parallelism 2, ordering by key");
		expect(html).toMatch(/Lateness<\/h2>(.|\n)*(Not available|<svg)/);
		expect(html).toContain(`data-tail="/dash/topics/${topic}/tail"`);
		expect(html).toContain('<script src="/dash/assets/live.js" defer');
		expect(html).toContain(`action="/dash/topics/${topic}/publish"`);
		expect(html).toContain(`action="/dash/topics/${topic}/subscriptions/hook/redrive"`);
		expect(html).toContain(`href="/dash/message?topic=${topic}&amp;id=m-1"`);
	});

	it("shows a message's timeline per subscription, its body as text", async () => {
		const topic = await topicWithDead(["m-1"]);
		const res = await dash(`/dash/message?topic=${topic}&id=m-1`, { session: await signIn() });
		expect(res.status).toBe(200);
		const html = await res.text();
		expect(html).toMatch(/hook <span class="state dead">dead<\/span>/);
		expect(html).toContain("HTTP 500");
		expect(html).toMatch(/Attempt history: not available|<table class="history">/);
		expect(html).not.toMatch(RAW);
		expect(html).toContain("&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;&amp;amp;");
	});

	it("escapes hostile bodies, keys and ids everywhere they are shown", async () => {
		const topic = uniqueName("esc");
		await json("PUT", `/v1/topics/${topic}`, {});
		await json("PUT", `/v1/topics/${topic}/subscriptions/pull`, { type: "pull" });
		const sent = await json<{ id: string }>("POST", `/v1/topics/${topic}/messages`, {
			body: HOSTILE,
			content_type: "text/plain",
			key: HOSTILE,
			request_id: HOSTILE.replace(/ /g, "_"),
			headers: { "x-evil": HOSTILE },
			delay: "1h",
		});
		expect(sent.status, JSON.stringify(sent.body)).toBe(201);
		const session = await signIn();
		const page = await (await dash(`/dash/message?topic=${topic}&id=${sent.body.id}`, { session })).text();
		expect(page).not.toMatch(RAW);
		expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;&quot;&#39;&lt;img");
		for (const path of [
			`/dash/message?topic=${topic}&id=${encodeURIComponent(HOSTILE)}`,
			`/dash/message?topic=${encodeURIComponent(HOSTILE)}&id=x`,
			`/dash/topics/${encodeURIComponent(HOSTILE)}`,
			`/dash?cursor=${encodeURIComponent(HOSTILE)}`,
			`/dash/${encodeURIComponent(HOSTILE)}`,
		]) {
			const res = await dash(path, { session });
			expect(res.status, path).toBeGreaterThanOrEqual(400);
			expect(res.status, path).toBeLessThan(500);
			expect(await res.text(), path).not.toMatch(RAW);
		}
		const signedOut = await (await dash(`/dash/topics/x?q=${encodeURIComponent(HOSTILE)}`)).text();
		expect(signedOut).not.toMatch(RAW);
		expect(signedOut).toContain(`value="/dash/topics/x?q=%3Cscript%3E`);
	});

	it("answers bad input on pages with a readable 400 page naming the field", async () => {
		const session = await signIn();
		for (const [path, field] of [
			["/dash/topics/bad%20name", "topic"],
			["/dash/topics/ok/subscriptions/-bad/dead", "name"],
			["/dash/message?topic=ok", "id"],
			["/dash/message?id=x", "topic"],
			[`/dash?cursor=${"x".repeat(600)}`, "cursor"],
			["/dash?cursor=notacursor", "cursor"],
		] as const) {
			const res = await dash(path, { session });
			expect(res.status, path).toBe(400);
			const html = await res.text();
			expect(html, path).toContain("400 Bad request");
			expect(html, path).toContain(`<code>${field}</code>`);
		}
		const missing = await dash("/dash/topics/no-such-topic-here", { session });
		expect(missing.status).toBe(404);
		expect(await missing.text()).toContain("404 Not found");
		expect((await dash(`/dash/message?topic=no-such-topic-here&id=x`, { session })).status).toBe(404);
	});
});

describe("dashboard: lateness histogram", () => {
	const lateness = {
		topic: "t",
		buckets_ms: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000],
		subscriptions: [
			{
				name: `<b>"sub"&</b>`,
				counts: [5, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
				count: 9,
				sum_ms: 61_010,
				attempts: { delivered: 8, retry: 1, dead: 0 },
			},
		],
	};

	it("draws one SVG bar per bucket from the lateness route's answer, escaped", async () => {
		const parsed = asLateness(lateness);
		expect(parsed).not.toBeNull();
		const html = (await LatenessSection({ lateness: parsed })).toString();
		expect(html.match(/<rect /g)).toHaveLength(16);
		expect(html).toContain("&gt;60s");
		expect(html).toContain("&lt;b&gt;&quot;sub&quot;&amp;&lt;/b&gt;");
		expect(html).not.toContain("<b>");
	});

	it("says 'not available' for no answer or an answer of another shape", async () => {
		for (const body of [null, {}, { ...lateness, buckets_ms: "x" }, { ...lateness, subscriptions: [{ name: "a" }] }]) {
			expect(asLateness(body)).toBeNull();
		}
		expect((await LatenessSection({ lateness: null })).toString()).toContain("Not available");
	});
});

describe("dashboard: a delivery's attempt history", () => {
	const delivery = {
		subscription: "hook",
		state: "dead" as const,
		attempts: 2,
		next_attempt_at: null,
		last_status: 500,
		last_error: "HTTP 500",
		delivered_at: null,
	};
	const message = (deliveries: unknown[]): Message => ({
		id: "m-1",
		body: { a: 1 },
		content_type: "application/json",
		headers: {},
		request_id: null,
		key: null,
		deliver_at: "2026-12-01T09:00:00.000Z",
		published_at: "2026-12-01T08:00:00.000Z",
		deliveries: deliveries as Message["deliveries"],
	});
	const viewer = { who: "admin token", csrf: "c" };

	it("shows each failed attempt when the API gives a history, escaped, and the dead time from it", async () => {
		const history = [
			{ attempt: 1, at: "2026-12-01T09:00:00.010Z", outcome: "retry", status: 503, error: HOSTILE },
			{ attempt: 2, at: "2026-12-01T09:00:01.020Z", outcome: "dead", status: 500, error: "HTTP 500" },
		];
		const page = MessagePage({ viewer, topic: "t", message: message([{ ...delivery, history }]) });
		const html = (await page).toString();
		expect(html.match(/<tr>/g)?.length).toBeGreaterThanOrEqual(3);
		expect(html).toContain("dead 2026-12-01T09:00:01.020Z");
		expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)");
		expect(html).not.toMatch(RAW);
	});

	it("says 'not available' when the API has no history field", async () => {
		const html = (await MessagePage({ viewer, topic: "t", message: message([delivery]) })).toString();
		expect(html).toContain("Attempt history: not available");
	});
});
