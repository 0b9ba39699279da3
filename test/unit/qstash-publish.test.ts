import { exports } from "cloudflare:workers";
import { Receiver } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { behave, received, receiverUrl, TOKEN, uniqueName } from "../helpers";
import { waitForReceived } from "../lifecycle";

const KEYS = {
	currentSigningKey: "sig_TestCurrentKey1111111111111111",
	nextSigningKey: "sig_TestNextKey22222222222222222222",
};

type Got = {
	path: string;
	url: string;
	method: string;
	headers: Record<string, string>;
	body: string;
	receivedAtMs: number;
};

/** POST /v2/publish/{destination} with raw headers and body, as the SDK sends it. */
function publish(destination: string, body: string, headers: Record<string, string> = {}) {
	return exports.default.fetch(
		new Request(`http://sundial.test/v2/publish/${destination}`, {
			method: "POST",
			headers: { authorization: `Bearer ${TOKEN}`, ...headers },
			body,
		}),
	);
}

describe("POST /v2/publish to a URL", () => {
	it("delivers the body byte for byte with QStash's headers, signed so the SDK's Receiver verifies it", async () => {
		const path = `/v2pub/${uniqueName("a")}`;
		const url = `${receiverUrl()}${path}?x=1`;
		const res = await publish(`${url}&upstash-method=PUT`, "héllo ☀", {
			"content-type": "text/plain",
			"upstash-forward-x-tenant": "acme",
			"upstash-retries": "2",
		});
		expect(res.status).toBe(200);
		const answer = (await res.json()) as { messageId: string; url: string };
		expect(answer).toEqual({ messageId: expect.stringMatching(/^msg_/), url });
		const [got] = (await waitForReceived(path, 1)) as unknown as Got[];
		expect(got?.method).toBe("PUT");
		expect(got?.body).toBe("héllo ☀");
		expect(got?.url).toBe(`${path}?x=1`);
		const h = got?.headers ?? {};
		expect(h["user-agent"]).toBe("Upstash-QStash");
		expect(h["content-type"]).toBe("text/plain");
		expect(h["x-tenant"]).toBe("acme");
		expect(h["upstash-message-id"]).toBe(answer.messageId);
		expect(h["upstash-retried"]).toBe("0");
		expect(h.authorization).toBeUndefined();
		// No other Upstash-* header arrives (no publish headers, no telemetry, no region).
		expect(
			Object.keys(h)
				.filter((n) => n.startsWith("upstash-"))
				.sort(),
		).toEqual(["upstash-message-id", "upstash-retried", "upstash-signature"]);
		const receiver = new Receiver(KEYS);
		expect(await receiver.verify({ signature: h["upstash-signature"] as string, body: "héllo ☀", url })).toBe(true);
		await expect(
			receiver.verify({ signature: h["upstash-signature"] as string, body: "tampered", url }),
		).rejects.toThrow();
	});

	it("retries a failed attempt by its Upstash-Retry-Delay, counting Upstash-Retried, then stops", async () => {
		const path = `/v2pub/${uniqueName("retry")}`;
		await behave(path, { status: 500 });
		const res = await publish(`${receiverUrl()}${path}`, "x", { "upstash-retries": "2", "upstash-retry-delay": "100" });
		expect(res.status).toBe(200);
		const got = (await waitForReceived(path, 3)) as unknown as Got[];
		expect(got.map((g) => g.headers["upstash-retried"])).toEqual(["0", "1", "2"]);
		expect((got[1]?.receivedAtMs ?? 0) - (got[0]?.receivedAtMs ?? 0)).toBeGreaterThanOrEqual(100);
		await new Promise((resolve) => setTimeout(resolve, 600));
		expect(await received(path)).toHaveLength(3);
	});

	it("stops at once on 489 with Upstash-NonRetryable-Error, whatever retries remain", async () => {
		const path = `/v2pub/${uniqueName("nonretry")}`;
		await behave(path, { status: 489, headers: { "upstash-nonretryable-error": "true" } });
		await publish(`${receiverUrl()}${path}`, "x", { "upstash-retries": "3", "upstash-retry-delay": "50" });
		await waitForReceived(path, 1);
		await new Promise((resolve) => setTimeout(resolve, 600));
		expect(await received(path)).toHaveLength(1);
	});

	it("deduplicates by Upstash-Deduplication-Id and by content: 202 with the original id, nothing sent twice", async () => {
		const path = `/v2pub/${uniqueName("dedup")}`;
		const dest = `${receiverUrl()}${path}`;
		const first = (await (
			await publish(dest, "a", { "upstash-deduplication-id": "d-1", "upstash-delay": "1s" })
		).json()) as {
			messageId: string;
		};
		const again = await publish(dest, "b", { "upstash-deduplication-id": "d-1" });
		expect(again.status).toBe(202);
		expect(await again.json()).toEqual({ messageId: first.messageId, url: dest, deduplicated: true });
		const c1 = (await (await publish(dest, "same", { "upstash-content-based-deduplication": "true" })).json()) as {
			messageId: string;
		};
		const c2 = await publish(dest, "same", { "upstash-content-based-deduplication": "true" });
		expect(c2.status).toBe(202);
		expect(((await c2.json()) as { messageId: string }).messageId).toBe(c1.messageId);
		const other = await publish(dest, "different", { "upstash-content-based-deduplication": "true" });
		expect(other.status).toBe(200);
		await waitForReceived(path, 3, 5000);
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect((await received(path)).map((r) => r.body).sort()).toEqual(["a", "different", "same"]);
	});

	it.each([
		[{ "upstash-retries": "100" }, 400, /^Upstash-Retries: /],
		[{ "upstash-delay": "soon" }, 400, /^Upstash-Delay: /],
		[{ "upstash-retry-delay": "pow(" }, 400, /^Upstash-Retry-Delay: /],
		[{ "upstash-callback": "example.com/cb" }, 400, /^Upstash-Callback: /],
	])("refuses %j with %i and QStash's error shape, scheduling nothing", async (headers, status, message) => {
		const path = `/v2pub/${uniqueName("bad")}`;
		const res = await publish(`${receiverUrl()}${path}`, "x", headers);
		expect(res.status).toBe(status);
		expect(((await res.json()) as { error: string }).error).toMatch(message);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(await received(path)).toEqual([]);
	});

	it("refuses a private address (400), a body over 1 MiB (413), and answers 501 for api/ destinations", async () => {
		expect((await publish("http://10.1.2.3/x", "x")).status).toBe(400);
		expect((await publish(`${receiverUrl()}/big`, "x".repeat(1024 * 1024 + 1))).status).toBe(413);
		expect((await publish("api/llm", "x")).status).toBe(501);
	});
});

describe("/v2/messages/{messageId}", () => {
	const call = (method: string, path: string) =>
		exports.default.fetch(
			new Request(`http://sundial.test${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } }),
		);

	it("shows a pending message as QStash's Message, cancels it, then answers 404", async () => {
		const url = `${receiverUrl()}/v2msg/${uniqueName("m")}`;
		const before = Date.now();
		const res = await publish(url, '{"a":1}', {
			"content-type": "application/json",
			"upstash-delay": "1h",
			"upstash-retries": "5",
			"upstash-retry-delay": "1000 * retried",
			"upstash-forward-x-tenant": "acme",
			"upstash-label": "billing",
		});
		const { messageId } = (await res.json()) as { messageId: string };
		const got = await call("GET", `/v2/messages/${messageId}`);
		expect(got.status).toBe(200);
		const m = (await got.json()) as Record<string, unknown>;
		expect(m).toEqual({
			messageId,
			url,
			method: "POST",
			header: { "x-tenant": ["acme"] },
			body: '{"a":1}',
			maxRetries: 5,
			retryDelayExpression: "1000 * retried",
			notBefore: expect.any(Number),
			createdAt: expect.any(Number),
			labels: ["billing"],
		});
		expect(m.notBefore as number).toBeGreaterThanOrEqual(before + 3_600_000);
		const cancelled = await call("DELETE", `/v2/messages/${messageId}`);
		expect(await cancelled.json()).toEqual({ cancelled: 1 });
		expect((await call("GET", `/v2/messages/${messageId}`)).status).toBe(404);
		expect((await call("DELETE", `/v2/messages/${messageId}`)).status).toBe(404);
	});

	it("answers 404 for an unknown id and 400 for something that is not a messageId", async () => {
		const unknown = await call("GET", "/v2/messages/msg_doesnotexist");
		expect(unknown.status).toBe(404);
		expect(await unknown.json()).toEqual({ error: expect.any(String) });
		expect((await call("GET", "/v2/messages/not-an-id")).status).toBe(400);
	});

	it("a delivered message is no longer pending (404)", async () => {
		const path = `/v2msg/${uniqueName("done")}`;
		const { messageId } = (await (await publish(`${receiverUrl()}${path}`, "x")).json()) as { messageId: string };
		await waitForReceived(path, 1);
		let status = 0;
		for (let i = 0; i < 50 && status !== 404; i++) {
			status = (await call("GET", `/v2/messages/${messageId}`)).status;
			if (status !== 404) await new Promise((resolve) => setTimeout(resolve, 50));
		}
		expect(status).toBe(404);
	});
});

describe("POST /v2/publish to a URL group", () => {
	const call = (method: string, path: string, body?: unknown) =>
		exports.default.fetch(
			new Request(`http://sundial.test${path}`, {
				method,
				headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
				body: body === undefined ? undefined : JSON.stringify(body),
			}),
		);

	it("delivers to every endpoint with its own messageId and Upstash-Topic-Name, each verifiable", async () => {
		const group = uniqueName("grp");
		const a = `${receiverUrl()}/v2grp/${group}/a`;
		const b = `${receiverUrl()}/v2grp/${group}/b`;
		await call("POST", `/v2/topics/${group}/endpoints`, {
			endpoints: [
				{ name: "a", url: a },
				{ name: "b", url: b },
			],
		});
		const res = await publish(group, "to all", { "content-type": "text/plain" });
		expect(res.status).toBe(200);
		const list = (await res.json()) as { messageId: string; url: string }[];
		expect(list.map((x) => x.url)).toEqual([a, b]);
		expect(new Set(list.map((x) => x.messageId)).size).toBe(2);
		const receiver = new Receiver(KEYS);
		for (const [i, path] of [`/v2grp/${group}/a`, `/v2grp/${group}/b`].entries()) {
			const [got] = (await waitForReceived(path, 1)) as unknown as Got[];
			expect(got?.headers["upstash-topic-name"]).toBe(group);
			expect(got?.headers["upstash-message-id"]).toBe(list[i]?.messageId);
			expect(
				await receiver.verify({
					signature: got?.headers["upstash-signature"] as string,
					body: "to all",
					url: list[i]?.url,
				}),
			).toBe(true);
		}
	});

	it("GET shows one endpoint's pending delivery; DELETE cancels that endpoint's only", async () => {
		const group = uniqueName("grpm");
		const a = `${receiverUrl()}/v2grpm/${group}/a`;
		const b = `${receiverUrl()}/v2grpm/${group}/b`;
		await call("POST", `/v2/topics/${group}/endpoints`, {
			endpoints: [
				{ name: "a", url: a },
				{ name: "b", url: b },
			],
		});
		const list = (await (await publish(group, "later", { "upstash-delay": "1h" })).json()) as { messageId: string }[];
		const [first, second] = list;
		const got = await call("GET", `/v2/messages/${first?.messageId}`);
		expect(await got.json()).toMatchObject({
			messageId: first?.messageId,
			url: a,
			topicName: group,
			endpointName: "a",
		});
		expect(await (await call("DELETE", `/v2/messages/${first?.messageId}`)).json()).toEqual({ cancelled: 1 });
		expect((await call("GET", `/v2/messages/${first?.messageId}`)).status).toBe(404);
		expect((await call("GET", `/v2/messages/${second?.messageId}`)).status).toBe(200);
	});

	it("answers 404 for an unknown group and 409 for a topic without webhook endpoints", async () => {
		expect((await publish(uniqueName("nogroup"), "x")).status).toBe(404);
		const pullOnly = uniqueName("pullonly");
		await call("PUT", `/v1/topics/${pullOnly}`, {});
		await call("PUT", `/v1/topics/${pullOnly}/subscriptions/p`, { type: "pull" });
		const res = await publish(pullOnly, "x");
		expect(res.status).toBe(409);
		expect(await res.json()).toEqual({ error: expect.any(String) });
	});
});

describe("POST /v2/batch", () => {
	const batch = (items: unknown) =>
		exports.default.fetch(
			new Request("http://sundial.test/v2/batch", {
				method: "POST",
				headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
				body: JSON.stringify(items),
			}),
		);

	it("answers each item as its own publish, in order; a bad item gets its own error", async () => {
		const path = `/v2batch/${uniqueName("b")}`;
		const group = uniqueName("bgrp");
		await exports.default.fetch(
			new Request(`http://sundial.test/v2/topics/${group}/endpoints`, {
				method: "POST",
				headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
				body: JSON.stringify({ endpoints: [{ name: "e", url: `${receiverUrl()}${path}/group` }] }),
			}),
		);
		const res = await batch([
			{ destination: `${receiverUrl()}${path}/one`, headers: { "content-type": "text/plain" }, body: "one" },
			{ destination: group, body: "to the group" },
			{ destination: `${receiverUrl()}${path}/bad`, headers: { "upstash-retries": "100" }, body: "x" },
			{ destination: `${receiverUrl()}${path}/q`, body: "queued", queue: uniqueName("bq") },
			{ destination: `${receiverUrl()}${path}/q`, body: "x", queue: "not a queue name" },
			{ nothing: true },
		]);
		expect(res.status).toBe(200);
		const answers = (await res.json()) as unknown[];
		expect(answers).toEqual([
			{ messageId: expect.stringMatching(/^msg_/), url: `${receiverUrl()}${path}/one` },
			[{ messageId: expect.stringMatching(/^msg_g/), url: `${receiverUrl()}${path}/group` }],
			{ error: expect.stringMatching(/^Upstash-Retries: /) },
			{ messageId: expect.stringMatching(/^msg_/), url: `${receiverUrl()}${path}/q` },
			{ error: expect.stringMatching(/queue name/) },
			{ error: expect.any(String) },
		]);
		expect((await waitForReceived(`${path}/one`, 1))[0]?.body).toBe("one");
		expect((await waitForReceived(`${path}/group`, 1))[0]?.body).toBe("to the group");
		expect((await waitForReceived(`${path}/q`, 1)).map((r) => r.body)).toEqual(["queued"]);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(await received(`${path}/bad`)).toEqual([]);
	});

	it("refuses more than 1000 items (413) and a body that is not an array (400)", async () => {
		const many = Array.from({ length: 1001 }, () => ({ destination: "https://example.com/x", body: "x" }));
		expect((await batch(many)).status).toBe(413);
		const notArray = await batch({ destination: "https://example.com/x" });
		expect(notArray.status).toBe(400);
		expect(await notArray.json()).toEqual({ error: expect.any(String) });
	});
});

describe("DELETE /v2/messages?messageIds=…", () => {
	const call = (path: string) =>
		exports.default.fetch(
			new Request(`http://sundial.test${path}`, { method: "DELETE", headers: { authorization: `Bearer ${TOKEN}` } }),
		);

	it("cancels the pending ones among the ids given", async () => {
		const url = `${receiverUrl()}/v2bulk/${uniqueName("b")}`;
		const ids: string[] = [];
		for (let i = 0; i < 3; i++) {
			ids.push(
				((await (await publish(url, `m${i}`, { "upstash-delay": "1h" })).json()) as { messageId: string }).messageId,
			);
		}
		const res = await call(`/v2/messages?messageIds=${ids[0]}&messageIds=${ids[1]}&messageIds=msg_unknown`);
		expect(await res.json()).toEqual({ cancelled: 2 });
		const left = await exports.default.fetch(
			new Request(`http://sundial.test/v2/messages/${ids[2]}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
		);
		expect(left.status).toBe(200);
	});

	it("refuses a parameter it does not know (never widening to 'all') with 400, cancelling nothing", async () => {
		const url = `${receiverUrl()}/v2bulk/${uniqueName("f")}`;
		const { messageId } = (await (await publish(url, "x", { "upstash-delay": "1h" })).json()) as { messageId: string };
		for (const query of ["?unknownFilter=1", `?messageIds=${messageId}&dlqIds=x`, "?fromDate=soon", "?state=CREATED"]) {
			const res = await call(`/v2/messages${query}`);
			expect(res.status, query).toBe(400);
			expect(await res.json()).toEqual({ error: expect.any(String) });
		}
		const still = await exports.default.fetch(
			new Request(`http://sundial.test/v2/messages/${messageId}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
		);
		expect(still.status).toBe(200);
	});
});
