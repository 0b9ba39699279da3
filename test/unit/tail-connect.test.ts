import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { textToBase64Url } from "../../src/base64";
import { MAX_TAIL_CLIENTS } from "../../src/tail/hub";
import { TOKEN, uniqueName } from "../helpers";
import { partitionedTopic } from "../partitions";
import { feedOf, openTail, tailRequest } from "../tail";

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("GET /v1/topics/{topic}/tail: connecting", () => {
	it("is in the OpenAPI document with its filters and its 101 and error answers", async () => {
		const doc = (await (await exports.default.fetch(new Request("http://sundial.test/openapi.json"))).json()) as {
			paths: Record<string, { get?: { parameters: { name: string; in: string }[]; responses: object } }>;
		};
		const get = doc.paths["/v1/topics/{topic}/tail"]?.get;
		expect(get?.parameters.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
			"path:topic",
			"query:subscription",
			"query:types",
		]);
		expect(Object.keys(get?.responses ?? {}).sort()).toEqual(["101", "400", "401", "403", "404", "426", "429", "503"]);
	});

	it("answers a plain GET with 426 in the JSON error shape, and names the upgrade", async () => {
		const topic = uniqueName("tail426");
		await partitionedTopic(topic, 1);
		const res = await exports.default.fetch(
			new Request(`http://sundial.test/v1/topics/${topic}/tail`, { headers: { authorization: `Bearer ${TOKEN}` } }),
		);
		expect(res.status).toBe(426);
		expect(res.headers.get("upgrade")).toBe("websocket");
		expect(await errorOf(res)).toMatchObject({ code: "upgrade_required" });
	});

	it("answers an unknown topic with 404 before upgrading", async () => {
		const res = await tailRequest(uniqueName("nope"));
		expect(res.status).toBe(404);
		expect(res.webSocket).toBeNull();
		expect(await errorOf(res)).toMatchObject({ code: "topic_not_found" });
	});

	it("answers bad names and filters with 400 naming the parameter", async () => {
		const topic = uniqueName("tail400");
		await partitionedTopic(topic, 1);
		const cases: [string, string, string][] = [
			["bad topic name", "", "topic"],
			[topic, "?types=published,bogus", "types"],
			[topic, "?subscription=ok,-bad", "subscription"],
			[topic, "?type=dead", "type"],
		];
		for (const [name, query, path] of cases) {
			const res = await tailRequest(encodeURIComponent(name), query);
			expect(res.status, `${name}${query}`).toBe(400);
			const body = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
			expect(body.error.code).toBe("invalid_request");
			expect(body.error.issues.map((i) => i.path)).toContain(path);
		}
	});

	it("refuses a missing or wrong token with 401, in the header or the subprotocol", async () => {
		const topic = uniqueName("tail401");
		await partitionedTopic(topic, 1);
		const none = await exports.default.fetch(
			new Request(`http://sundial.test/v1/topics/${topic}/tail`, { headers: { upgrade: "websocket" } }),
		);
		expect(none.status).toBe(401);
		const wrong = await exports.default.fetch(
			new Request(`http://sundial.test/v1/topics/${topic}/tail`, {
				headers: {
					upgrade: "websocket",
					"sec-websocket-protocol": `sundial.tail.v1, sundial.auth.${textToBase64Url("nope")}`,
				},
			}),
		);
		expect(wrong.status).toBe(401);
		expect(await errorOf(wrong)).toMatchObject({ code: "unauthorized" });
	});

	it("takes the token as a subprotocol (browsers) and answers sundial.tail.v1, never the token", async () => {
		const topic = uniqueName("tailproto");
		await partitionedTopic(topic, 1);
		const res = await exports.default.fetch(
			new Request(`http://sundial.test/v1/topics/${topic}/tail`, {
				headers: {
					upgrade: "websocket",
					"sec-websocket-protocol": `sundial.tail.v1, sundial.auth.${textToBase64Url(TOKEN)}`,
				},
			}),
		);
		expect(res.status).toBe(101);
		expect(res.headers.get("sec-websocket-protocol")).toBe("sundial.tail.v1");
		res.webSocket?.accept();
		res.webSocket?.close(1000, "done");
		// Subprotocols without ours: the client could not accept our answer.
		const other = await tailRequest(topic, "", { "sec-websocket-protocol": "chat" });
		expect(other.status).toBe(400);
	});

	it("starts with a ready event naming the topic, its partitions and the filter", async () => {
		const topic = uniqueName("tailready");
		await partitionedTopic(topic, 3);
		const tail = await openTail(topic, "?types=dead,delivered&subscription=hook");
		expect(tail.events[0]).toMatchObject({
			type: "ready",
			topic,
			partitions: 3,
			partition: null,
			subscription: null,
			message_id: null,
			attempt: null,
			filter: { subscriptions: ["hook"], types: ["dead", "delivered"] },
		});
		expect(Date.parse(tail.events[0]?.at as string)).not.toBeNaN();
		// Every partition listens by the time `ready` arrives.
		for (let p = 0; p < 3; p++) expect((await feedOf(topic, p)).listening).toBe(true);
		tail.close();
	});

	it(`holds at most ${MAX_TAIL_CLIENTS} clients per topic: one more is a 429`, async () => {
		const topic = uniqueName("tail429");
		await partitionedTopic(topic, 1);
		const clients = [];
		for (let i = 0; i < MAX_TAIL_CLIENTS; i++) clients.push(await openTail(topic));
		const over = await tailRequest(topic);
		expect(over.status).toBe(429);
		expect(await errorOf(over)).toMatchObject({ code: "too_many_tails" });
		// Another topic has its own hub and its own limit.
		const other = uniqueName("tail429b");
		await partitionedTopic(other, 1);
		(await openTail(other)).close();
		// One leaves: one more may come.
		clients[0]?.close();
		await clients[0]?.closed;
		const again = await openTail(topic);
		for (const c of [...clients.slice(1), again]) c.close();
	});
});
