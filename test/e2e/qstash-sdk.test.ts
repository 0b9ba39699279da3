import { Client, QstashError, Receiver } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import type { Receiver as HttpReceiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import { type Sundial, sleep } from "./lib.js";

/** The real @upstash/qstash SDK against the real Worker. */
describe("@upstash/qstash against /v2 (wrangler dev)", () => {
	let sundial: Sundial;
	let client: Client;
	let http: HttpReceiver;

	useSundial(async (s, r) => {
		sundial = s;
		http = r as HttpReceiver;
		// `retry: false`: an error answer must surface at once, not after the SDK's backoff.
		client = new Client({ baseUrl: sundial.worker.url, token: sundial.token, retry: false });
	});

	it("publishJSON with a delay: delivered once at its time, verified by the SDK's Receiver", async () => {
		const url = `${http.url}/sdk/json?source=sdk`;
		const before = Date.now();
		const { messageId } = await client.publishJSON({
			url,
			body: { order: 42 },
			delay: 1,
			headers: { "x-tenant": "acme" },
		});
		expect(messageId).toMatch(/^msg_/);
		await http.waitFor(() => http.received.some((r) => r.path === "/sdk/json"), 15_000);
		const got = http.received.filter((r) => r.path === "/sdk/json");
		expect(got).toHaveLength(1);
		const req = got[0];
		expect(req?.receivedAtMs).toBeGreaterThanOrEqual(before + 1000);
		expect(req?.body).toBe(JSON.stringify({ order: 42 }));
		expect(req?.headers["x-tenant"]).toBe("acme");
		expect(req?.headers["upstash-message-id"]).toBe(messageId);
		const receiver = new Receiver({
			currentSigningKey: sundial.qstashKeys.current,
			nextSigningKey: sundial.qstashKeys.next,
		});
		const signature = req?.headers["upstash-signature"] as string;
		expect(await receiver.verify({ signature, body: req?.body ?? "", url })).toBe(true);
		await expect(receiver.verify({ signature, body: req?.body ?? "", url: `${http.url}/elsewhere` })).rejects.toThrow();
	});

	it("publish with retries and a retry delay retries a 500 until the 200", async () => {
		let calls = 0;
		http.behaviour("/sdk/flaky", () => {
			calls += 1;
			return { status: calls < 3 ? 500 : 200 };
		});
		await client.publish({ url: `${http.url}/sdk/flaky`, body: "x", retries: 3, retryDelay: "100" });
		await http.waitFor(() => calls >= 3, 15_000);
		await new Promise((resolve) => setTimeout(resolve, 500));
		const got = http.received.filter((r) => r.path === "/sdk/flaky");
		expect(got.map((r) => r.headers["upstash-retried"])).toEqual(["0", "1", "2"]);
	});

	it("messages.get shows a pending message and messages.cancel cancels it", async () => {
		const url = `${http.url}/sdk/later`;
		const { messageId } = await client.publishJSON({ url, body: { later: true }, delay: 3600, retries: 2 });
		const m = await client.messages.get(messageId);
		expect(m).toMatchObject({ messageId, url, method: "POST", maxRetries: 2, body: JSON.stringify({ later: true }) });
		expect(await client.messages.cancel(messageId)).toEqual({ cancelled: 1 });
		await expect(client.messages.get(messageId)).rejects.toMatchObject({ status: 404 });
	});

	it("batchJSON publishes each item; a URL group gets one messageId per endpoint", async () => {
		await client.urlGroups.addEndpoints({
			name: "sdk-batch",
			endpoints: [{ name: "g", url: `${http.url}/sdk/batch-group` }],
		});
		const answers = await client.batchJSON([
			{ url: `${http.url}/sdk/batch-url`, body: { n: 1 } },
			{ urlGroup: "sdk-batch", body: { n: 2 } },
		]);
		expect(answers).toHaveLength(2);
		expect(answers[0]).toMatchObject({ messageId: expect.stringMatching(/^msg_/) });
		expect(answers[1]).toEqual([{ messageId: expect.stringMatching(/^msg_g/), url: `${http.url}/sdk/batch-group` }]);
		await http.waitFor(
			() => ["/sdk/batch-url", "/sdk/batch-group"].every((p) => http.received.some((r) => r.path === p)),
			15_000,
		);
		const group = http.received.find((r) => r.path === "/sdk/batch-group");
		expect(group?.headers["upstash-topic-name"]).toBe("sdk-batch");
		expect(group?.body).toBe(JSON.stringify({ n: 2 }));
	});

	it("dlq: a message out of retries is listed, retried as a new message, and deleted", async () => {
		http.behaviour("/sdk/dead", () => ({ status: 500 }));
		const { messageId } = await client.publish({ url: `${http.url}/sdk/dead`, body: "gone", retries: 0 });
		let entry: { dlqId: string; messageId: string } | undefined;
		for (let i = 0; i < 100 && !entry; i++) {
			entry = (await client.dlq.listMessages()).messages.find((m) => m.messageId === messageId);
			if (!entry) await new Promise((resolve) => setTimeout(resolve, 100));
		}
		expect(entry).toBeDefined();
		const listed = await client.dlq.listMessages({ dlqIds: [entry?.dlqId as string] });
		expect(listed.messages.map((m) => m.dlqId)).toEqual([entry?.dlqId]);
		http.behaviour("/sdk/dead", () => ({ status: 200 }));
		const retried = await client.dlq.retry(entry?.dlqId as string);
		expect(retried.responses).toHaveLength(1);
		await http.waitFor(() => http.received.filter((r) => r.path === "/sdk/dead").length >= 2, 15_000);
		// A second dead one, deleted.
		http.behaviour("/sdk/dead2", () => ({ status: 500 }));
		const second = await client.publish({ url: `${http.url}/sdk/dead2`, body: "x", retries: 0 });
		let dlqId: string | undefined;
		for (let i = 0; i < 100 && !dlqId; i++) {
			dlqId = (await client.dlq.listMessages()).messages.find((m) => m.messageId === second.messageId)?.dlqId;
			if (!dlqId) await new Promise((resolve) => setTimeout(resolve, 100));
		}
		expect(await client.dlq.delete(dlqId as string)).toEqual({ deleted: 1 });
		expect((await client.dlq.listMessages()).messages.find((m) => m.dlqId === dlqId)).toBeUndefined();
	});

	it("schedules: create, get, list, pause, resume, delete", async () => {
		const destination = `${http.url}/sdk/scheduled`;
		const { scheduleId } = await client.schedules.create({
			destination,
			cron: "CRON_TZ=Europe/Berlin 30 2 * * *",
			body: JSON.stringify({ job: "report" }),
			retries: 2,
		});
		expect(scheduleId).toMatch(/^scd_/);
		const got = await client.schedules.get(scheduleId);
		expect(got).toMatchObject({
			scheduleId,
			cron: "CRON_TZ=Europe/Berlin 30 2 * * *",
			destination,
			retries: 2,
			isPaused: false,
		});
		expect((await client.schedules.list()).map((s) => s.scheduleId)).toContain(scheduleId);
		await client.schedules.pause({ schedule: scheduleId });
		expect((await client.schedules.get(scheduleId)).isPaused).toBe(true);
		await client.schedules.resume({ schedule: scheduleId });
		expect((await client.schedules.get(scheduleId)).isPaused).toBe(false);
		await client.schedules.delete(scheduleId);
		await expect(client.schedules.get(scheduleId)).rejects.toMatchObject({ status: 404 });
	});

	it("deduplicates a repeated deduplicationId", async () => {
		const url = `${http.url}/sdk/dedup`;
		const first = await client.publish({ url, body: "a", deduplicationId: "once", delay: 1 });
		const again = await client.publish({ url, body: "b", deduplicationId: "once" });
		expect(again.messageId).toBe(first.messageId);
		expect((again as { deduplicated?: boolean }).deduplicated).toBe(true);
	});

	it("manages URL groups: add endpoints, get, list, remove, delete", async () => {
		await client.urlGroups.addEndpoints({
			name: "sdk-group",
			endpoints: [{ name: "one", url: "http://127.0.0.1:9/one" }, { url: "http://127.0.0.1:9/two" }],
		});
		const group = await client.urlGroups.get("sdk-group");
		expect(group.name).toBe("sdk-group");
		expect(typeof group.createdAt).toBe("number");
		expect(group.endpoints.map((e) => e.url).sort()).toEqual(["http://127.0.0.1:9/one", "http://127.0.0.1:9/two"]);
		expect((await client.urlGroups.list()).map((g) => g.name)).toContain("sdk-group");

		await client.urlGroups.removeEndpoints({ name: "sdk-group", endpoints: [{ name: "one" }] });
		expect((await client.urlGroups.get("sdk-group")).endpoints.map((e) => e.url)).toEqual(["http://127.0.0.1:9/two"]);
		await client.urlGroups.delete("sdk-group");
		await expect(client.urlGroups.get("sdk-group")).rejects.toMatchObject({ status: 404 });
	});

	it("surfaces Sundial's errors as QstashError with the status: 400 bad endpoint, 400 bad queue name", async () => {
		const bad = client.urlGroups.addEndpoints({ name: "sdk-bad", endpoints: [{ url: "ftp://example.com/x" }] });
		await expect(bad).rejects.toBeInstanceOf(QstashError);
		await expect(bad).rejects.toMatchObject({ status: 400 });
		const queued = client
			.queue({ queueName: "not a name" })
			.enqueueJSON({ url: "http://127.0.0.1:9/x", body: { a: 1 } });
		await expect(queued).rejects.toMatchObject({ status: 400 });
	});

	it("refuses a wrong token with 401", async () => {
		const wrong = new Client({ baseUrl: sundial.worker.url, token: "wrong", retry: false });
		await expect(wrong.urlGroups.list()).rejects.toMatchObject({ status: 401 });
	});

	it("GET /v2/keys answers the keys the Worker signs with", async () => {
		expect((await sundial.api("GET", "/v2/keys")).body).toEqual(sundial.qstashKeys);
	});

	it("logs: a delivery's states newest first, by messageId and by state, paged with the cursor", async () => {
		let calls = 0;
		http.behaviour("/sdk/logged", () => {
			calls += 1;
			return { status: calls < 2 ? 503 : 200 };
		});
		const { messageId } = await client.publish({
			url: `${http.url}/sdk/logged`,
			body: "l",
			retries: 2,
			retryDelay: "100",
		});
		let states: string[] = [];
		for (let i = 0; i < 100 && states[0] !== "DELIVERED"; i++) {
			states = (await client.logs({ filter: { messageId } })).logs.map((l) => l.state);
			if (states[0] !== "DELIVERED") await sleep(100);
		}
		expect(states).toEqual(["DELIVERED", "ACTIVE", "RETRY", "ACTIVE", "CREATED"]);
		const retry = (await client.logs({ filter: { messageId, state: "RETRY" } })).logs;
		expect(retry).toHaveLength(1);
		expect(retry[0]).toMatchObject({ messageId, responseStatus: 503, url: `${http.url}/sdk/logged` });
		// The SDK's documented loop: start at now, follow the cursor.
		const seen: string[] = [];
		let cursor: string | number = Date.now() + 1000;
		for (let page = 0; page < 10 && cursor; page++) {
			const res = await client.logs({ cursor, count: 2, filter: { messageId } });
			seen.push(...res.logs.map((l) => l.state));
			cursor = res.cursor ?? 0;
		}
		expect(seen).toEqual(states);
	});

	it("dlq by filter: listed with the last answer, retried with count and cursor, then deleted with { all: true }", async () => {
		http.behaviour("/sdk/dlq-filter", () => ({ status: 422, headers: { "x-why": "nope" }, body: "rejected" }));
		for (let i = 0; i < 3; i++) {
			await client.publish({ url: `${http.url}/sdk/dlq-filter`, body: `f${i}`, retries: 0, label: "sdk-bulk" });
		}
		const filter = { url: `${http.url}/sdk/dlq-filter`, responseStatus: 422 };
		let listed: Awaited<ReturnType<typeof client.dlq.listMessages>>["messages"] = [];
		for (let i = 0; i < 100 && listed.length < 3; i++) {
			listed = (await client.dlq.listMessages({ filter })).messages;
			if (listed.length < 3) await sleep(100);
		}
		expect(listed).toHaveLength(3);
		expect(listed[0]).toMatchObject({ responseStatus: 422, responseBody: "rejected", labels: ["sdk-bulk"] });
		http.behaviour("/sdk/dlq-filter", () => ({ status: 200 }));
		const first = await client.dlq.retry({ filter: { label: "sdk-bulk" }, count: 2 });
		expect(first.responses).toHaveLength(2);
		expect(first.cursor).toEqual(expect.any(String));
		await http.waitFor(() => http.received.filter((r) => r.path === "/sdk/dlq-filter").length >= 5, 15_000);
		let deleted = 0;
		let cursor: string | undefined;
		do {
			const res = await client.dlq.delete({ all: true, cursor });
			deleted += res.deleted;
			cursor = res.cursor;
		} while (cursor);
		expect(deleted).toBeGreaterThanOrEqual(1);
		expect((await client.dlq.listMessages({ filter })).messages).toEqual([]);
	});

	it("dlq of a URL group endpoint: listed with urlGroup and endpointName", async () => {
		http.behaviour("/sdk/group-dead", () => ({ status: 500 }));
		await client.urlGroups.addEndpoints({
			name: "sdk-dead",
			endpoints: [{ name: "ep", url: `${http.url}/sdk/group-dead` }],
		});
		await client.publish({ urlGroup: "sdk-dead", body: "g", retries: 0 });
		let listed: Awaited<ReturnType<typeof client.dlq.listMessages>>["messages"] = [];
		for (let i = 0; i < 100 && listed.length === 0; i++) {
			listed = (await client.dlq.listMessages({ filter: { urlGroup: "sdk-dead" } })).messages;
			if (listed.length === 0) await sleep(100);
		}
		expect(listed).toHaveLength(1);
		expect(listed[0]).toMatchObject({ urlGroup: "sdk-dead", endpointName: "ep", body: "g", responseStatus: 500 });
	});

	it("notBefore, content-based deduplication, Retry-After, timeout and 489 → DLQ", async () => {
		// notBefore: whole seconds; delivered not before that second.
		const notBefore = Math.ceil(Date.now() / 1000) + 1;
		await client.publish({ url: `${http.url}/sdk/not-before`, body: "nb", notBefore });
		// Content-based deduplication: the same body to the same URL is one message.
		const c1 = await client.publish({ url: `${http.url}/sdk/content`, body: "same", contentBasedDeduplication: true });
		const c2 = await client.publish({ url: `${http.url}/sdk/content`, body: "same", contentBasedDeduplication: true });
		expect(c2.messageId).toBe(c1.messageId);
		// Retry-After: the second attempt waits for it, not for the retry-delay expression.
		let after = 0;
		http.behaviour("/sdk/retry-after", () => {
			after += 1;
			return after === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 };
		});
		await client.publish({ url: `${http.url}/sdk/retry-after`, body: "ra", retries: 1, retryDelay: "0" });
		// A timeout: an answer slower than it is a failed attempt; with no retry left it is dead.
		http.behaviour("/sdk/slow", () => ({ status: 200, delayMs: 2500 }));
		const slow = await client.publish({ url: `${http.url}/sdk/slow`, body: "t", timeout: 1, retries: 0 });
		// 489 with Upstash-NonRetryable-Error: dead at once, whatever retries remain.
		http.behaviour("/sdk/489", () => ({ status: 489, headers: { "upstash-nonretryable-error": "true" } }));
		const stop = await client.publish({ url: `${http.url}/sdk/489`, body: "x", retries: 5 });

		await http.waitFor(
			(all) =>
				all.some((r) => r.path === "/sdk/not-before") && all.filter((r) => r.path === "/sdk/retry-after").length >= 2,
			15_000,
		);
		const nb = http.received.find((r) => r.path === "/sdk/not-before");
		expect(nb?.receivedAtMs).toBeGreaterThanOrEqual(notBefore * 1000);
		expect(http.received.filter((r) => r.path === "/sdk/content")).toHaveLength(1);
		const ra = http.received.filter((r) => r.path === "/sdk/retry-after");
		expect((ra[1]?.receivedAtMs ?? 0) - (ra[0]?.receivedAtMs ?? 0)).toBeGreaterThanOrEqual(950);
		let dead: string[] = [];
		for (let i = 0; i < 100 && dead.length < 2; i++) {
			const listed = (await client.dlq.listMessages({ filter: { messageId: stop.messageId } })).messages;
			const timedOut = (await client.dlq.listMessages({ filter: { messageId: slow.messageId } })).messages;
			dead = [...listed, ...timedOut].map((m) => m.messageId);
			if (dead.length < 2) await sleep(100);
		}
		expect(dead.sort()).toEqual([stop.messageId, slow.messageId].sort());
		expect(http.received.filter((r) => r.path === "/sdk/489")).toHaveLength(1);
		const states = (await client.logs({ filter: { messageId: stop.messageId } })).logs.map((l) => l.state);
		expect(states[0]).toBe("FAILED");
	});

	it("answers 501 for what is out of scope: api/ destinations, key rotation", async () => {
		expect((await sundial.api("POST", "/v2/keys/rotate")).status).toBe(501);
		expect((await sundial.api("POST", "/v2/publish/api/llm")).status).toBe(501);
		expect((await sundial.api("POST", "/v2/workflows/x")).status).toBe(501);
	});

	it("every delivery so far carried a signature the SDK's Receiver accepts for its URL and body", async () => {
		const receiver = new Receiver({
			currentSigningKey: sundial.qstashKeys.current,
			nextSigningKey: sundial.qstashKeys.next,
		});
		const signed = http.received.filter((r) => r.headers["upstash-signature"] !== undefined);
		expect(signed.length).toBeGreaterThan(20);
		for (const r of signed) {
			const ok = await receiver.verify({
				signature: r.headers["upstash-signature"] as string,
				body: r.body,
				url: `${http.url}${r.url}`,
				clockTolerance: 600,
			});
			expect(ok, r.url).toBe(true);
		}
	});

	it("messages.cancel by filter, then { all: true }", async () => {
		const a = await client.publish({ url: `${http.url}/sdk/cancel`, body: "a", delay: 3600, label: "sdk-cancel" });
		const b = await client.publish({ url: `${http.url}/sdk/cancel`, body: "b", delay: 3600 });
		expect(await client.messages.cancel({ filter: { label: "sdk-cancel" } })).toEqual({ cancelled: 1 });
		await expect(client.messages.get(a.messageId)).rejects.toMatchObject({ status: 404 });
		expect((await client.messages.get(b.messageId)).messageId).toBe(b.messageId);
		const all = await client.messages.cancel({ all: true });
		expect(all.cancelled).toBeGreaterThanOrEqual(1);
		await expect(client.messages.get(b.messageId)).rejects.toMatchObject({ status: 404 });
	});
});
