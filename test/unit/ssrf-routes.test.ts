import { describe, expect, it } from "vitest";
import { behave, json, received, receiverUrl, uniqueName, v2 } from "../helpers";
import { waitFor } from "../lifecycle";
import { REFUSED_ALWAYS } from "../ssrf-table";

/**
 * The SSRF table (test/ssrf-table.ts) at every door a URL comes in by (issue 14): a webhook
 * subscription, a URL group's endpoints, a `/v2` publish, enqueue, batch and schedule destination,
 * and `/v2` success and failure callbacks. Each refused spelling gets 400 there (a batch item its
 * own error), and nothing is created. (These tests run with SUNDIAL_ALLOW_HTTP=1, so the loopback rows are test/unit/url-guard's.)
 * Redirects are never followed: a receiver's 3xx is a failed attempt, and its target gets nothing.
 */

/** The rows that are absolute http(s) URLs: the ones a `/v2` path can carry as its destination. */
const ABSOLUTE = REFUSED_ALWAYS.filter((raw) => /^https?:\/\//.test(raw) && raw.length < 2000);

async function expect400(what: string, res: Response | { status: number; body: unknown }): Promise<void> {
	const body = res instanceof Response ? await res.text() : JSON.stringify(res.body);
	expect(res.status, `${what}: ${body}`).toBe(400);
	expect(body, what).toMatch(/error/);
}

describe("SSRF table at every door", () => {
	it("webhook subscriptions and URL group endpoints refuse every row", async () => {
		const topic = uniqueName("ssrf");
		expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
		const group = uniqueName("ssrf-group");
		for (const url of REFUSED_ALWAYS) {
			await expect400(
				`subscription ${url}`,
				await json("PUT", `/v1/topics/${topic}/subscriptions/s`, { type: "webhook", url }),
			);
			await expect400(
				`endpoint ${url}`,
				await v2(
					"POST",
					`/v2/topics/${group}/endpoints`,
					{ "content-type": "application/json" },
					JSON.stringify({ endpoints: [{ url }] }),
				),
			);
		}
		const subs = await json<{ subscriptions: unknown[] }>("GET", `/v1/topics/${topic}/subscriptions`);
		expect(subs.body.subscriptions).toEqual([]);
		expect((await v2("GET", `/v2/topics/${group}`)).status).toBe(404);
	});

	it("/v2 destinations (publish, enqueue, batch, schedules) and callbacks refuse every row", async () => {
		const ok = `${receiverUrl()}/ssrf/never`;
		const schedulesBefore = await (await v2("GET", "/v2/schedules")).json();
		for (const url of ABSOLUTE) {
			await expect400(`publish ${url}`, await v2("POST", `/v2/publish/${url}`, {}, "x"));
			await expect400(`enqueue ${url}`, await v2("POST", `/v2/enqueue/ssrf-q/${url}`, {}, "x"));
			await expect400(
				`schedule ${url}`,
				await v2("POST", `/v2/schedules/${url}`, { "upstash-cron": "* * * * *" }, "x"),
			);
			// A batch answers per item (QSTASH.md "Batch"): the item's error, nothing published.
			const batch = await v2(
				"POST",
				"/v2/batch",
				{ "content-type": "application/json" },
				JSON.stringify([{ destination: url, body: "x" }]),
			);
			const items = (await batch.json()) as { error?: string; messageId?: string }[];
			expect(items, `batch ${url}`).toHaveLength(1);
			expect(items[0]?.error, `batch ${url}`).toMatch(/webhook url/);
			expect(items[0]?.messageId).toBeUndefined();
		}
		for (const url of REFUSED_ALWAYS) {
			for (const header of ["upstash-callback", "upstash-failure-callback"]) {
				await expect400(`${header} ${url}`, await v2("POST", `/v2/publish/${ok}`, { [header]: url }, "x"));
			}
		}
		expect(await (await v2("GET", "/v2/schedules")).json()).toEqual(schedulesBefore);
		expect(await received("/ssrf/never")).toEqual([]);
	});

	it("a redirect is not followed: the 3xx is a failed attempt, and its target gets nothing", async () => {
		const id = uniqueName("redirect");
		const hook = `/ssrf/${id}/hook`;
		const target = `/ssrf/${id}/target`;
		await behave(hook, { status: 302, headers: { location: `${receiverUrl()}${target}` } });
		await behave(target, { status: 200 });
		const topic = id;
		expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
		const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}${hook}`,
			retry: { max_attempts: 2, backoff: "fixed", base: "100ms" },
		});
		expect(sub.status, JSON.stringify(sub.body)).toBe(201);
		expect((await json("POST", `/v1/topics/${topic}/messages`, { id: "m1", body: { a: 1 } })).status).toBe(201);
		// The same through /v2, whose deliveries take their own path (QStash's headers and retries).
		const published = await v2("POST", `/v2/publish/${receiverUrl()}${hook}`, { "upstash-retries": "0" }, "x");
		expect(published.status, await published.clone().text()).toBe(200);
		const dead = await waitFor("the /v1 delivery dead after its two attempts", async () => {
			const res = await json<{ dead: { last_status: number | null; last_error: string | null }[] }>(
				"GET",
				`/v1/topics/${topic}/subscriptions/hook/dead`,
			);
			return res.body.dead.length === 1 ? res.body.dead[0] : undefined;
		});
		expect(dead).toMatchObject({ last_status: 302, last_error: "HTTP 302" });
		await waitFor("three requests to the redirecting hook", async () =>
			(await received(hook)).length === 3 ? true : undefined,
		);
		expect(await received(target)).toEqual([]);
	});
});
