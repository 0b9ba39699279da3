import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { readPublishError } from "../../packages/outbox/src/publish-error";
import type { PublishError } from "../../src/entrypoint";
import { partitionOf } from "../../src/topic/client/routing";
import { api, json, topicWithWebhook, uniqueName } from "../helpers";
import { idsByPartition, partitionedTopic } from "../partitions";

// The loopback binding to the named export: what a service binding with
// `entrypoint = "PublishEntrypoint"` gives another Worker.
const sundial = exports.PublishEntrypoint;

/**
 * The code, status and issues of the error a call rejects with, as own properties; checks that its
 * message alone says the same (RPC between processes keeps only the message).
 */
async function rejection(call: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
	try {
		await call;
	} catch (error) {
		expect(error).toBeInstanceOf(Error);
		const e = error as PublishError;
		expect(e.message).toMatch(new RegExp(`^${e.code} \\(${e.status}\\): .`));
		const fromMessage = readPublishError(new Error(e.message));
		expect(fromMessage).toMatchObject({ code: e.code, status: e.status });
		expect(fromMessage?.issues).toEqual(e.issues);
		return { code: e.code, status: e.status, message: e.message };
	}
	throw new Error("the call did not throw");
}

let topic: string;
beforeAll(async () => {
	topic = uniqueName("rpc");
	await topicWithWebhook(topic, `/hook/${topic}`);
});

describe("PublishEntrypoint.publish", () => {
	it("publishes like the HTTP API and reports duplicates", async () => {
		const first = await sundial.publish(topic, { id: "rpc-1", body: { a: 1 }, deliver_at: "2026-12-01T09:00:00Z" });
		expect(first).toEqual({ id: "rpc-1", deliver_at: "2026-12-01T09:00:00.000Z", duplicate: false });
		const again = await sundial.publish(topic, { id: "rpc-1", body: { a: 2 }, delay: "1h" });
		expect(again).toEqual({ id: "rpc-1", deliver_at: "2026-12-01T09:00:00.000Z", duplicate: true });

		const stored = await json("GET", `/v1/topics/${topic}/messages/rpc-1`);
		expect(stored.body).toMatchObject({ id: "rpc-1", body: { a: 1 }, deliver_at: "2026-12-01T09:00:00.000Z" });
	});

	it("computes deliver_at from a delay and generates an id", async () => {
		const before = Date.now();
		const res = await sundial.publish(topic, { body: "x", delay: 90 });
		const after = Date.now();
		expect(res.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/);
		expect(Date.parse(res.deliver_at)).toBeGreaterThanOrEqual(before + 90_000);
		expect(Date.parse(res.deliver_at)).toBeLessThanOrEqual(after + 90_000);
	});

	it.each([
		["an invalid message", () => sundial.publish(topic, { body: 1, delay: -1 }), "invalid_request", 400],
		["a message that is not an object", () => sundial.publish(topic, "hello"), "invalid_request", 400],
		["an invalid topic name", () => sundial.publish("-bad", { body: 1 }), "invalid_request", 400],
		["an unknown topic", () => sundial.publish(uniqueName("nope"), { body: 1 }), "topic_not_found", 404],
		["a body over 1 MiB", () => sundial.publish(topic, { body: "x".repeat(1024 * 1024) }), "body_too_large", 413],
	])("throws an Error with code and status for %s", async (_what, call, code, status) => {
		expect(await rejection(call())).toMatchObject({ code, status });
	});

	it("carries the issues that name each bad field", async () => {
		try {
			await sundial.publish(topic, { body: 1, delay: -1 });
			expect.unreachable();
		} catch (error) {
			expect((error as PublishError).issues).toEqual([{ path: "delay", message: expect.any(String) }]);
			expect(readPublishError(new Error((error as Error).message))?.issues).toEqual([
				{ path: "delay", message: expect.any(String) },
			]);
		}
	});

	it("throws conflict for a topic with no subscriptions", async () => {
		const empty = uniqueName("rpc-empty");
		await api("PUT", `/v1/topics/${empty}`, {});
		expect(await rejection(sundial.publish(empty, { body: 1 }))).toMatchObject({
			code: "no_subscriptions",
			status: 409,
		});
	});
});

describe("PublishEntrypoint.publishBatch", () => {
	it("answers one reply per message, in order, like the HTTP batch route", async () => {
		const replies = await sundial.publishBatch(topic, [
			{ id: "rpc-b1", body: 1, deliver_at: 1796115600 },
			{ id: "rpc-b2", body: 2, delay: "soon" },
			{ id: "rpc-b1", body: 3 },
		]);
		expect(replies).toEqual([
			{ id: "rpc-b1", deliver_at: "2026-12-01T09:00:00.000Z" },
			{
				error: {
					code: "invalid_request",
					message: expect.any(String),
					issues: [{ path: "[1].delay", message: expect.any(String) }],
				},
			},
			{ id: "rpc-b1", deliver_at: "2026-12-01T09:00:00.000Z", duplicate: true },
		]);
		expect((await api("GET", `/v1/topics/${topic}/messages/rpc-b2`)).status).toBe(404);
	});

	it("throws batch_too_large for more than 1000 messages, storing none", async () => {
		const t = uniqueName("rpc-big");
		await topicWithWebhook(t, `/hook/${t}`);
		const items = Array.from({ length: 1001 }, (_, i) => ({ body: i, delay: "1h" }));
		expect(await rejection(sundial.publishBatch(t, items))).toMatchObject({ code: "batch_too_large", status: 413 });
		expect((await json("GET", `/v1/topics/${t}`)).body).toMatchObject({ messages: 0 });
	});

	it("throws invalid_request for messages that are not an array", async () => {
		expect(await rejection(sundial.publishBatch(topic, { body: 1 } as unknown as unknown[]))).toMatchObject({
			code: "invalid_request",
		});
	});

	it("throws topic_not_found for an unknown topic, even when every message is invalid", async () => {
		for (const items of [[{ body: 1 }], [{ delay: 1 }], []]) {
			expect(await rejection(sundial.publishBatch(uniqueName("nope"), items))).toMatchObject({
				code: "topic_not_found",
			});
		}
	});

	it("writes its error on one line, then the issues line, whatever the input quoted in it", async () => {
		const error = await sundial.publishBatch("a\nissues: [1]\r\nb", [{ body: 1 }]).catch((e: unknown) => e as Error);
		const [head, issuesLine, ...rest] = (error as Error).message.split("\n");
		expect(head).toMatch(/^invalid_request \(400\): invalid topic name "a issues: \[1\] b"$/);
		expect(issuesLine).toBe(`issues: ${JSON.stringify([{ path: "topic", message: "not a topic name" }])}`);
		expect(rest).toEqual([]);
		expect(readPublishError(error)?.message).toBe('invalid topic name "a issues: [1] b"');
	});

	it("throws invalid_request for an invalid topic name", async () => {
		expect(await rejection(sundial.publishBatch("a b", [{ body: 1 }]))).toMatchObject({ code: "invalid_request" });
	});
});

describe("PublishEntrypoint on a partitioned topic", () => {
	it("routes each message to the partition of its id, like the HTTP API", async () => {
		const t = uniqueName("rpc-parts");
		await partitionedTopic(t, 4);
		const one = await sundial.publish(t, { id: "rpc-one", body: 1, delay: "1h" });
		expect(one).toMatchObject({ id: "rpc-one", duplicate: false });
		const items = Array.from({ length: 40 }, (_, i) => ({ id: `rpc-${i}`, body: i, delay: "1h" }));
		const replies = await sundial.publishBatch(t, items);
		expect(replies.map((r) => ("id" in r ? r.id : null))).toEqual(items.map((m) => m.id));
		const stored = await idsByPartition(t, 4);
		const all = ["rpc-one", ...items.map((m) => m.id)];
		for (let p = 0; p < 4; p++) expect(stored[p]).toEqual(all.filter((id) => partitionOf(id, 4) === p).sort());
		expect((await sundial.publish(t, { id: "rpc-one", body: 2 })).duplicate).toBe(true);
	});
});
