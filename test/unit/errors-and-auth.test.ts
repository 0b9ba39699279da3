import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, json, receiverUrl, TOKEN, topicWithWebhook, uniqueName } from "../helpers";

/** Sends a request as given: no token or content type added. */
function send(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit } = {}) {
	return exports.default.fetch(new Request(`http://sundial.test${path}`, { method, ...init }));
}

interface ErrorBody {
	error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

/** Asserts the status and DESIGN.md's error shape; returns the error. */
async function expectError(res: Response, status: number, code: string): Promise<ErrorBody["error"]> {
	expect(res.status).toBe(status);
	expect(res.headers.get("content-type")).toMatch(/^application\/json/);
	const body = (await res.json()) as ErrorBody;
	expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
	expect(body.error.message.length).toBeGreaterThan(0);
	return body.error;
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe("authentication", () => {
	it("refuses /v1 without a token with 401 and the error shape", async () => {
		const res = await send("GET", "/v1/topics");
		await expectError(res, 401, "unauthorized");
		expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
	});

	it("refuses a wrong token, a non-bearer scheme and an empty bearer", async () => {
		for (const authorization of [`Bearer ${TOKEN}x`, "Bearer wrong", `Basic ${btoa(`u:${TOKEN}`)}`, "Bearer ", TOKEN]) {
			await expectError(await send("GET", "/v1/topics", { headers: { authorization } }), 401, "unauthorized");
		}
	});

	it("checks the token before anything else: unknown routes and bad bodies are still 401", async () => {
		await expectError(await send("GET", "/v1/nothing-here"), 401, "unauthorized");
		await expectError(await send("PUT", "/v1/topics/x", { body: "{not json" }), 401, "unauthorized");
	});

	it("accepts the right token, case-insensitive scheme", async () => {
		expect((await send("GET", "/v1/topics", { headers: auth })).status).toBe(200);
		expect((await send("GET", "/v1/topics", { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
	});

	it("serves /health, /openapi.json and /docs without a token", async () => {
		const health = await send("GET", "/health");
		expect(health.status).toBe(200);
		expect(await health.json()).toEqual({ ok: true });

		const openapi = await send("GET", "/openapi.json");
		expect(openapi.status).toBe(200);
		const doc = (await openapi.json()) as { openapi: string; paths: Record<string, unknown> };
		expect(doc.openapi).toBe("3.1.0");
		expect(Object.keys(doc.paths)).toEqual(
			expect.arrayContaining(["/v1/topics", "/v1/topics/{topic}", "/v1/topics/{topic}/messages"]),
		);

		const docs = await send("GET", "/docs");
		expect(docs.status).toBe(200);
		expect(docs.headers.get("content-type")).toMatch(/^text\/html/);
		expect(await docs.text()).toContain("Sundial");
	});
});

describe("routing errors", () => {
	it("answers an unknown route with 404 in the JSON error shape", async () => {
		await expectError(await api("GET", "/v1/nothing-here"), 404, "not_found");
		await expectError(await send("GET", "/nothing"), 404, "not_found");
		await expectError(await api("GET", "/v1/topics/a/b/c/d/e/f"), 404, "not_found");
	});

	it("answers a known path with a wrong method with 405 and an allow header", async () => {
		const del = await api("DELETE", "/v1/topics");
		await expectError(del, 405, "method_not_allowed");
		expect(del.headers.get("allow")).toBe("GET");

		const patch = await api("PATCH", "/v1/topics/some-topic", {});
		await expectError(patch, 405, "method_not_allowed");
		expect(patch.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "PUT"]);

		const put = await api("PUT", "/v1/topics/some-topic/messages", {});
		await expectError(put, 405, "method_not_allowed");
		expect(put.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "POST"]);

		const health = await send("POST", "/health");
		await expectError(health, 405, "method_not_allowed");
		expect(health.headers.get("allow")).toBe("GET");
	});
});

describe("request bodies", () => {
	it("refuses a declared non-JSON content type with 415 on PUT and POST", async () => {
		const topic = uniqueName();
		for (const type of ["text/plain", "multipart/form-data; boundary=x", "application/xml", "image/png"]) {
			const put = await api("PUT", `/v1/topics/${topic}`, "{}", { "content-type": type });
			await expectError(put, 415, "unsupported_media_type");
			const post = await api("POST", `/v1/topics/${topic}/messages`, '{"body":1}', { "content-type": type });
			await expectError(post, 415, "unsupported_media_type");
		}
		// Nothing was created by the refused PUTs.
		await expectError(await api("GET", `/v1/topics/${topic}`), 404, "topic_not_found");
	});

	it("accepts JSON labelled application/json with charset, +json, unlabelled, or as curl's form default", async () => {
		const types = [
			"application/json; charset=utf-8",
			"application/merge-patch+json",
			"application/x-www-form-urlencoded",
		];
		for (const type of types) {
			const res = await api("PUT", `/v1/topics/${uniqueName()}`, '{"retention":"1d"}', { "content-type": type });
			expect(res.status, type).toBe(201);
			expect(await res.json()).toMatchObject({ retention_ms: 86_400_000 });
		}
		const unlabelled = await send("PUT", `/v1/topics/${uniqueName()}`, {
			headers: auth,
			body: new TextEncoder().encode('{"retention":"2d"}'),
		});
		expect(unlabelled.status).toBe(201);
		expect(await unlabelled.json()).toMatchObject({ retention_ms: 2 * 86_400_000 });
	});

	it("answers a body that is not JSON with 400", async () => {
		const topic = uniqueName();
		for (const body of ["{not json", "order=42&x=1", '{"retention": "1d"', "\u00ff\u00fe"]) {
			await expectError(await api("PUT", `/v1/topics/${topic}`, body), 400, "invalid_request");
		}
		const form = await api("PUT", `/v1/topics/${topic}`, "retention=1d", {
			"content-type": "application/x-www-form-urlencoded",
		});
		await expectError(form, 400, "invalid_request");
		const badUtf8 = await send("PUT", `/v1/topics/${topic}`, {
			headers: { ...auth, "content-type": "application/json" },
			body: new Uint8Array([0x7b, 0xff, 0x7d]),
		});
		await expectError(badUtf8, 400, "invalid_request");
	});

	it("refuses a request over SUNDIAL_MAX_REQUEST_BYTES (8 MiB) with 413", async () => {
		const topic = uniqueName();
		await topicWithWebhook(topic, `/hook/${topic}`);
		const big = JSON.stringify([{ body: "x".repeat(9 * 1024 * 1024) }]);
		const res = await api("POST", `/v1/topics/${topic}/messages/batch`, big);
		await expectError(res, 413, "request_too_large");
		const stats = await json<{ messages: number }>("GET", `/v1/topics/${topic}`);
		expect(stats.body.messages).toBe(0);
	});
});

describe("path parameters", () => {
	const badNames = ["-bad", "a".repeat(129), "a%20b", "%2Fslash", "caf%C3%A9", ".dot"];

	it.each(badNames)("answers an invalid topic name %s with 400 naming topic", async (name) => {
		for (const [method, path, body] of [
			["PUT", `/v1/topics/${name}`, {}],
			["GET", `/v1/topics/${name}`, undefined],
			["GET", `/v1/topics/${name}/subscriptions`, undefined],
			["POST", `/v1/topics/${name}/messages`, { body: 1 }],
		] as const) {
			const error = await expectError(await api(method, path, body), 400, "invalid_request");
			expect(error.issues?.map((i) => i.path)).toEqual(["topic"]);
		}
	});

	it("accepts a name of exactly 128 allowed characters", async () => {
		const name = `A9._:-${"z".repeat(122)}`;
		expect(name).toHaveLength(128);
		const res = await api("PUT", `/v1/topics/${name}`, {});
		expect(res.status).toBe(201);
		expect(await res.json()).toMatchObject({ name });
	});

	it("names the subscription and message id parameters too", async () => {
		const sub = await expectError(
			await api("PUT", "/v1/topics/ok/subscriptions/-bad", { type: "webhook", url: `${receiverUrl()}/x` }),
			400,
			"invalid_request",
		);
		expect(sub.issues?.map((i) => i.path)).toEqual(["name"]);
		const msg = await expectError(await api("GET", "/v1/topics/ok/messages/a%20b"), 400, "invalid_request");
		expect(msg.issues?.map((i) => i.path)).toEqual(["id"]);
	});
});

describe("unknown topic", () => {
	it("is a 404 topic_not_found on every topic route", async () => {
		const topic = uniqueName("missing");
		const requests: [string, string, unknown?][] = [
			["GET", `/v1/topics/${topic}`],
			["DELETE", `/v1/topics/${topic}`],
			["GET", `/v1/topics/${topic}/subscriptions`],
			["GET", `/v1/topics/${topic}/subscriptions/hook`],
			["PUT", `/v1/topics/${topic}/subscriptions/hook`, { type: "webhook", url: `${receiverUrl()}/x` }],
			["POST", `/v1/topics/${topic}/messages`, { body: { a: 1 } }],
			["POST", `/v1/topics/${topic}/messages/batch`, [{ body: 1 }]],
			["GET", `/v1/topics/${topic}/messages/m1`],
		];
		for (const [method, path, body] of requests) {
			const res = await api(method, path, body);
			expect(res.status, `${method} ${path}`).toBe(404);
			expect(await res.json()).toEqual({ error: { code: "topic_not_found", message: expect.any(String) } });
		}
		// Asking did not create it.
		const list = await json<{ topics: { name: string }[] }>("GET", "/v1/topics?limit=1000");
		expect(list.body.topics.map((t) => t.name)).not.toContain(topic);
	});
});
