import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Receiver } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { fromBase64 } from "../../src/base64";
import { behave, received, receiverUrl, uniqueName, v2 } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";

const receiver = new Receiver({
	currentSigningKey: "sig_TestCurrentKey1111111111111111",
	nextSigningKey: "sig_TestNextKey22222222222222222222",
});

type CallbackBody = {
	status: number;
	header: Record<string, string[]>;
	body: string;
	retried: number;
	maxRetries: number;
	sourceMessageId: string;
	topicName?: string;
	endpointName?: string;
	url: string;
	method: string;
	sourceHeader: Record<string, string[]>;
	sourceBody: string;
	notBefore: number;
	createdAt: number;
	scheduleId?: string;
	callerIP?: string;
	dlqId?: string;
};

const text = (base64: string) => new TextDecoder().decode(fromBase64(base64));

/** The callbacks `path` got, each checked to be signed for `url` (sub = the callback URL), by `retried`. */
async function callbacksAt(
	path: string,
	count: number,
): Promise<{ body: CallbackBody; headers: Record<string, string> }[]> {
	const got = await waitForReceived(path, count, 15_000);
	const url = `${receiverUrl()}${path}`;
	const out = [];
	for (const r of got) {
		expect(await receiver.verify({ signature: r.headers["upstash-signature"] as string, body: r.body, url })).toBe(
			true,
		);
		out.push({ body: JSON.parse(r.body) as CallbackBody, headers: r.headers });
	}
	return out.sort((a, b) => a.body.retried - b.body.retried);
}

/** Nothing more than `count` requests reach `path` within a while. */
async function staysAt(path: string, count: number) {
	await new Promise((r) => setTimeout(r, 700));
	expect(await received(path)).toHaveLength(count);
}

async function dlqEntry(messageId: string): Promise<{ dlqId: string; messageId: string }> {
	return waitFor("the DLQ entry", async () => {
		const page = (await (await v2("GET", `/v2/dlq?messageId=${messageId}`)).json()) as {
			messages: { dlqId: string; messageId: string }[];
		};
		return page.messages[0];
	});
}

describe("/v2 callbacks: Upstash-Callback", () => {
	it("posts one signed callback per attempt with the attempt's answer and the message (fail twice, then succeed)", async () => {
		const dest = `/v2cb/${uniqueName("dest")}`;
		const cb = `/v2cb/${uniqueName("cb")}`;
		await behave(dest, {
			sequence: [
				{ status: 500, body: "first no" },
				{ status: 503, headers: { "x-why": "busy" }, body: "second no" },
				{ status: 201, body: "yes" },
			],
		});
		const before = Date.now();
		const res = await v2(
			"POST",
			`/v2/publish/${receiverUrl()}${dest}`,
			{
				"content-type": "text/plain",
				"upstash-forward-x-tenant": "acme",
				"upstash-retries": "3",
				"upstash-retry-delay": "0",
				"upstash-callback": `${receiverUrl()}${cb}`,
				"upstash-callback-forward-x-cb": "yes",
				"cf-connecting-ip": "203.0.113.7",
			},
			"payload",
		);
		expect(res.status).toBe(200);
		const { messageId } = (await res.json()) as { messageId: string };
		const calls = await callbacksAt(cb, 3);
		expect(calls.map((c) => [c.body.retried, c.body.status])).toEqual([
			[0, 500],
			[1, 503],
			[2, 201],
		]);
		expect(calls.map((c) => text(c.body.body))).toEqual(["first no", "second no", "yes"]);
		expect(calls[1]?.body.header["x-why"]).toEqual(["busy"]);
		const first = calls[0]?.body as CallbackBody;
		expect(first).toMatchObject({
			maxRetries: 3,
			sourceMessageId: messageId,
			url: `${receiverUrl()}${dest}`,
			method: "POST",
			sourceHeader: { "x-tenant": ["acme"] },
			callerIP: "203.0.113.7",
		});
		expect(text(first.sourceBody)).toBe("payload");
		// Unix ms (clocks of the Worker and the object differ slightly in workerd's tests).
		expect(Math.abs(first.createdAt - before)).toBeLessThan(5000);
		expect(Math.abs(first.notBefore - before)).toBeLessThan(5000);
		expect(first.topicName).toBeUndefined();
		expect(first.dlqId).toBeUndefined();
		// Each callback is a message of its own: its own id, QStash's headers, the forwarded one.
		const ids = new Set(calls.map((c) => c.headers["upstash-message-id"]));
		expect(ids.size).toBe(3);
		expect(ids.has(messageId)).toBe(false);
		for (const c of calls) {
			expect(c.headers["content-type"]).toBe("application/json");
			expect(c.headers["x-cb"]).toBe("yes");
			expect(c.headers["upstash-retried"]).toBe("0");
		}
		// Visible in the logs, delivered; and a callback triggers no callback of its own.
		const cbId = calls[0]?.headers["upstash-message-id"] as string;
		const events = (await (await v2("GET", `/v2/events?messageId=${cbId}`)).json()) as {
			events: { state: string; url: string }[];
		};
		expect(events.events.map((e) => e.state)).toContain("DELIVERED");
		expect(events.events[0]?.url).toBe(`${receiverUrl()}${cb}`);
		await staysAt(cb, 3);
	});

	it("retries a callback whose URL fails, by its own Upstash-Callback-Retries and -Retry-Delay", async () => {
		const dest = `/v2cb/${uniqueName("dest")}`;
		const cb = `/v2cb/${uniqueName("cbfail")}`;
		await behave(cb, { sequence: [{ status: 500 }, { status: 502 }, { status: 200 }] });
		await v2(
			"POST",
			`/v2/publish/${receiverUrl()}${dest}`,
			{
				"upstash-callback": `${receiverUrl()}${cb}`,
				"upstash-callback-retries": "2",
				"upstash-callback-retry-delay": "0",
				"upstash-callback-method": "PUT",
			},
			"once",
		);
		const got = await waitForReceived(cb, 3, 15_000);
		expect(got.map((g) => g.headers["upstash-retried"])).toEqual(["0", "1", "2"]);
		expect(new Set(got.map((g) => g.headers["upstash-message-id"])).size).toBe(1);
		expect(new Set(got.map((g) => g.body)).size).toBe(1);
		expect((JSON.parse(got[0]?.body ?? "{}") as CallbackBody).status).toBe(200);
		expect((got[0] as unknown as { method: string }).method).toBe("PUT");
		await staysAt(cb, 3);
	});

	it("honours Upstash-Callback-Delay; GET /v2/messages shows callback and failureCallback", async () => {
		const dest = `/v2cb/${uniqueName("dest")}`;
		const cb = `${receiverUrl()}/v2cb/${uniqueName("cbd")}`;
		const fail = `${receiverUrl()}/v2cb/${uniqueName("fcbd")}`;
		const res = await v2("POST", `/v2/publish/${receiverUrl()}${dest}`, {
			"upstash-delay": "1h",
			"upstash-callback": cb,
			"upstash-failure-callback": fail,
		});
		const { messageId } = (await res.json()) as { messageId: string };
		const message = (await (await v2("GET", `/v2/messages/${messageId}`)).json()) as Record<string, unknown>;
		expect(message).toMatchObject({ callback: cb, failureCallback: fail });
		await v2("DELETE", `/v2/messages/${messageId}`);
	});
});

describe("/v2 callbacks: Upstash-Failure-Callback", () => {
	it("posts once when the message goes to the DLQ, with the dlqId of the entry", async () => {
		const dest = `/v2cb/${uniqueName("dead")}`;
		const cb = `/v2cb/${uniqueName("cbd")}`;
		const failure = `/v2cb/${uniqueName("fcb")}`;
		await behave(dest, { status: 500, body: "broken" });
		const res = await v2(
			"POST",
			`/v2/publish/${receiverUrl()}${dest}`,
			{
				"upstash-retries": "1",
				"upstash-retry-delay": "0",
				"upstash-callback": `${receiverUrl()}${cb}`,
				"upstash-failure-callback": `${receiverUrl()}${failure}`,
				"upstash-failure-callback-forward-x-failed": "true",
			},
			"doomed",
		);
		const { messageId } = (await res.json()) as { messageId: string };
		const [dead] = await callbacksAt(failure, 1);
		const entry = await dlqEntry(messageId);
		expect(dead?.body).toMatchObject({
			status: 500,
			retried: 1,
			maxRetries: 1,
			sourceMessageId: messageId,
			dlqId: entry.dlqId,
		});
		expect(text(dead?.body.body ?? "")).toBe("broken");
		expect(text(dead?.body.sourceBody ?? "")).toBe("doomed");
		expect(dead?.headers["x-failed"]).toBe("true");
		// The per-attempt callback still reports both attempts, without a dlqId.
		const calls = await callbacksAt(cb, 2);
		expect(calls.map((c) => [c.body.retried, c.body.dlqId])).toEqual([
			[0, undefined],
			[1, undefined],
		]);
		await staysAt(failure, 1);
	});

	it("is not sent when the message is delivered", async () => {
		const dest = `/v2cb/${uniqueName("ok")}`;
		const cb = `/v2cb/${uniqueName("cbok")}`;
		const failure = `/v2cb/${uniqueName("fcbok")}`;
		await v2("POST", `/v2/publish/${receiverUrl()}${dest}`, {
			"upstash-callback": `${receiverUrl()}${cb}`,
			"upstash-failure-callback": `${receiverUrl()}${failure}`,
		});
		await callbacksAt(cb, 1);
		await staysAt(failure, 0);
	});
});

describe("/v2 callbacks of URL groups, batches and schedules", () => {
	it("a group publish calls back per endpoint attempt (through the group's outbox), failure callback with the endpoint's dlqId", async () => {
		const group = uniqueName("cbgrp");
		const a = `/v2cbg/${group}/a`;
		const b = `/v2cbg/${group}/b`;
		await behave(b, { status: 500 });
		await v2(
			"POST",
			`/v2/topics/${group}/endpoints`,
			{ "content-type": "application/json" },
			JSON.stringify({
				endpoints: [
					{ name: "a", url: `${receiverUrl()}${a}` },
					{ name: "b", url: `${receiverUrl()}${b}` },
				],
			}),
		);
		const cb = `/v2cbg/${uniqueName("cb")}`;
		const failure = `/v2cbg/${uniqueName("fcb")}`;
		const res = await v2(
			"POST",
			`/v2/publish/${group}`,
			{
				"upstash-retries": "0",
				"upstash-callback": `${receiverUrl()}${cb}`,
				"upstash-failure-callback": `${receiverUrl()}${failure}`,
			},
			"fan",
		);
		const list = (await res.json()) as { messageId: string; url: string }[];
		const calls = await callbacksAt(cb, 2);
		const byEndpoint = Object.fromEntries(calls.map((c) => [c.body.endpointName, c.body]));
		expect(byEndpoint.a).toMatchObject({ status: 200, topicName: group, sourceMessageId: list[0]?.messageId });
		expect(byEndpoint.b).toMatchObject({ status: 500, topicName: group, sourceMessageId: list[1]?.messageId });
		expect(byEndpoint.a?.url).toBe(`${receiverUrl()}${a}`);
		const [dead] = await callbacksAt(failure, 1);
		const entry = await dlqEntry(list[1]?.messageId as string);
		expect(dead?.body).toMatchObject({ endpointName: "b", dlqId: entry.dlqId });
		await staysAt(cb, 2);
		await staysAt(failure, 1);
	});

	it("a batch item carries its own callback", async () => {
		const dest = `/v2cb/${uniqueName("batch")}`;
		const cb = `/v2cb/${uniqueName("cbb")}`;
		const res = await v2(
			"POST",
			"/v2/batch",
			{ "content-type": "application/json" },
			JSON.stringify([
				{
					destination: `${receiverUrl()}${dest}`,
					headers: { "upstash-callback": `${receiverUrl()}${cb}` },
					body: "b1",
				},
				{ destination: `${receiverUrl()}${dest}`, body: "b2" },
			]),
		);
		const [first] = (await res.json()) as { messageId: string }[];
		const [call] = await callbacksAt(cb, 1);
		expect(call?.body.sourceMessageId).toBe(first?.messageId);
		expect(text(call?.body.sourceBody ?? "")).toBe("b1");
		await waitForReceived(dest, 2);
		await staysAt(cb, 1);
	});

	it("a schedule's firings carry its callback, with the scheduleId", async () => {
		const dest = `/v2cb/${uniqueName("sched")}`;
		const cb = `/v2cb/${uniqueName("cbs")}`;
		const id = uniqueName("sch");
		await v2(
			"POST",
			`/v2/schedules/${receiverUrl()}${dest}`,
			{ "upstash-cron": "0 0 1 1 *", "upstash-schedule-id": id, "upstash-callback": `${receiverUrl()}${cb}` },
			"tick",
		);
		const schedule = (await (await v2("GET", `/v2/schedules/${id}`)).json()) as Record<string, unknown>;
		expect(schedule.callback).toBe(`${receiverUrl()}${cb}`);
		const stub = env.SCHEDULES.getByName("~schedules");
		await runInDurableObject(stub, (_i, state) => {
			state.storage.sql.exec("UPDATE schedules SET since_ms = 0, next_at_ms = ? WHERE name = ?", Date.now() - 1, id);
		});
		await runDurableObjectAlarm(stub);
		const [call] = await callbacksAt(cb, 1);
		expect(call?.body.scheduleId).toBe(id);
		expect(call?.body.status).toBe(200);
		await v2("DELETE", `/v2/schedules/${id}`);
	});
});

describe("/v2 callbacks: bad input", () => {
	it.each([
		["upstash-callback", "not a url"],
		["upstash-callback", "ftp://example.com/cb"],
		["upstash-callback", "https://10.0.0.1/cb"],
		["upstash-failure-callback", "https://169.254.169.254/latest"],
		["upstash-callback-retries", "100"],
		["upstash-callback-retries", "-1"],
		["upstash-callback-retries", "two"],
		["upstash-callback-timeout", "0"],
		["upstash-callback-timeout", "forever"],
		["upstash-callback-delay", "soon"],
		["upstash-callback-method", "FETCH"],
		["upstash-callback-retry-delay", "pow(2,"],
		["upstash-failure-callback-retries", "1000"],
		["upstash-failure-callback-delay", "400d"],
	])("%s: %s is a 400 in QStash's shape, nothing scheduled", async (name, value) => {
		const dest = `/v2cb/${uniqueName("bad")}`;
		const headers: Record<string, string> = {
			"upstash-callback": `${receiverUrl()}/v2cb/ok`,
			"upstash-failure-callback": `${receiverUrl()}/v2cb/ok`,
			[name]: value,
		};
		const res = await v2("POST", `/v2/publish/${receiverUrl()}${dest}`, headers, "x");
		expect(res.status).toBe(400);
		const body = (await res.json()) as { error: string };
		expect(Object.keys(body)).toEqual(["error"]);
		expect(body.error.toLowerCase()).toContain(
			name
				.split("-")
				.slice(0, name.includes("failure") ? 3 : 2)
				.join("-"),
		);
		const batch = await v2(
			"POST",
			"/v2/batch",
			{ "content-type": "application/json" },
			JSON.stringify([{ destination: `${receiverUrl()}${dest}`, headers, body: "x" }]),
		);
		expect(((await batch.json()) as { error?: string }[])[0]?.error).toEqual(expect.any(String));
		const schedule = await v2("POST", `/v2/schedules/${receiverUrl()}${dest}`, {
			...headers,
			"upstash-cron": "* * * * *",
		});
		expect(schedule.status).toBe(400);
		await staysAt(dest, 0);
	});
});

describe("/v2 callbacks in /openapi.json", () => {
	it("documents the callback headers where publish and schedule headers are documented", async () => {
		const doc = (await (await v2("GET", "/openapi.json")).json()) as {
			paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
		};
		for (const [path, method] of [
			["/v2/publish/{destination}", "post"],
			["/v2/schedules/{destination}", "post"],
		] as const) {
			const headers = (doc.paths[path]?.[method]?.parameters ?? []).filter((p) => p.in === "header").map((p) => p.name);
			expect(headers, path).toEqual(
				expect.arrayContaining([
					"Upstash-Retries",
					"Upstash-Callback",
					"Upstash-Failure-Callback",
					"Upstash-Callback-Retries",
				]),
			);
		}
	});
});
