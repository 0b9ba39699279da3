import { describe, expect, it } from "vitest";
import { backoffMs } from "../../packages/outbox/src/backoff";
import { classifyReply, classifyThrown } from "../../packages/outbox/src/classify";
import { MAX_MESSAGE_BYTES, OutboxError, parseDurationMs, prepareMessage } from "../../packages/outbox/src/message";
import { readPublishError } from "../../packages/outbox/src/publish-error";

describe("backoff", () => {
	it("doubles from 1 s to the 5 min cap, with at most a quarter of jitter, never under the minimum", () => {
		const low = () => 0;
		const high = () => 0.999999;
		const at = (failures: number, random: () => number) => backoffMs(failures, 1_000, 300_000, random);
		expect([1, 2, 3, 4, 9, 10, 50].map((n) => at(n, high))).toEqual([
			1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000,
		]);
		expect([1, 2, 3, 4, 9, 10, 50].map((n) => at(n, low))).toEqual([
			1_000, 1_500, 3_000, 6_000, 192_000, 225_000, 225_000,
		]);
		expect(at(1_000_000, Math.random)).toBeLessThanOrEqual(300_000);
	});
});

describe("classifying Sundial's answers", () => {
	it("takes stored and duplicate items as sent, refuses bad input, retries partitions that did not answer", () => {
		expect(classifyReply({ id: "a", deliver_at: "2026-12-01T00:00:00.000Z" })).toEqual({ kind: "stored" });
		expect(classifyReply({ id: "a", deliver_at: "2026-12-01T00:00:00.000Z", duplicate: true })).toEqual({
			kind: "stored",
		});
		const invalid = { code: "invalid_request", message: "bad", issues: [{ path: "[0].delay", message: "bad" }] };
		expect(classifyReply({ error: invalid })).toEqual({ kind: "refused", error: invalid });
		expect(classifyReply({ error: { code: "body_too_large", message: "big" } })).toEqual({
			kind: "refused",
			error: { code: "body_too_large", message: "big" },
		});
		expect(classifyReply({ id: "a", error: { code: "partition_unavailable", message: "down" } })).toEqual({
			kind: "retry",
			error: "partition_unavailable: down",
		});
		expect(classifyReply(undefined)).toMatchObject({ kind: "retry" });
	});

	it("retries a thrown error unless it is a 400 for the whole call or a batch too large", () => {
		expect(classifyThrown(new Error("Network connection lost."))).toEqual({
			kind: "retry",
			error: "Network connection lost.",
		});
		const withCode = (code: string, status: number) => Object.assign(new Error(code), { code, status });
		expect(classifyThrown(withCode("topic_not_found", 404))).toEqual({
			kind: "retry",
			error: "topic_not_found: topic_not_found",
		});
		expect(classifyThrown(withCode("no_subscriptions", 409))).toMatchObject({ kind: "retry" });
		expect(classifyThrown(withCode("partition_unavailable", 503))).toMatchObject({ kind: "retry" });
		expect(classifyThrown(withCode("batch_too_large", 413))).toMatchObject({ kind: "smaller_batch" });
		expect(classifyThrown(withCode("id_conflict", 409))).toMatchObject({ kind: "refused" });
		expect(classifyThrown(withCode("invalid_request", 400))).toEqual({
			kind: "refused",
			error: { code: "invalid_request", message: "invalid_request" },
		});
	});

	it("reads code, status and issues from the message when RPC dropped the error's own properties", () => {
		const issues = [{ path: "messages", message: "must be an array" }];
		const refused = new Error(`invalid_request (400): messages must be an array\nissues: ${JSON.stringify(issues)}`);
		expect(classifyThrown(refused)).toEqual({
			kind: "refused",
			error: { code: "invalid_request", message: "messages must be an array", issues },
		});
		expect(classifyThrown(new Error("batch_too_large (413): at most 1000 messages"))).toEqual({
			kind: "smaller_batch",
			error: "batch_too_large: at most 1000 messages",
		});
		expect(classifyThrown(new Error('topic_not_found (404): topic "orders" not found'))).toEqual({
			kind: "retry",
			error: 'topic_not_found: topic "orders" not found',
		});
		// Not Sundial's form: the binding itself failed; worth retrying.
		expect(classifyThrown(new Error("Internal (500): not ours either, capitalised"))).toMatchObject({ kind: "retry" });
		expect(classifyThrown("a string")).toEqual({ kind: "retry", error: "a string" });
	});

	it("reads a publish error's fields from its message or its own properties, never inventing issues", () => {
		expect(readPublishError(new Error("no_subscriptions (409): the topic has none\nand a second line"))).toEqual({
			code: "no_subscriptions",
			status: 409,
			message: "the topic has none\nand a second line",
		});
		expect(readPublishError(new Error("invalid_request (400): bad\nissues: [not json"))).toEqual({
			code: "invalid_request",
			status: 400,
			message: "bad\nissues: [not json",
		});
		// Issues that are not Sundial's shape: the line stays part of the message.
		expect(readPublishError(new Error('invalid_request (400): bad\nissues: [{"path":1}]'))).toEqual({
			code: "invalid_request",
			status: 400,
			message: 'bad\nissues: [{"path":1}]',
		});
		// Text that only looks like an issues line, before the real one (the last line).
		const issues = [{ path: "topic", message: "not a topic name" }];
		expect(
			readPublishError(new Error(`invalid_request (400): name "x\nissues: [1]"\nissues: ${JSON.stringify(issues)}`)),
		).toEqual({ code: "invalid_request", status: 400, message: 'name "x\nissues: [1]"', issues });
		const own = Object.assign(new Error("plain words"), { code: "conflict", status: 409 });
		expect(readPublishError(own)).toEqual({ code: "conflict", status: 409, message: "plain words" });
		expect(readPublishError(new Error("Network connection lost."))).toBeNull();
		expect(readPublishError(null)).toBeNull();
	});
});

describe("preparing a message at publish time", () => {
	const nowMs = Date.parse("2026-12-01T09:00:00.000Z");

	it("reads Sundial's durations", () => {
		expect(["250ms", "30s", "5m", "2h", "7d", "1h30m", "1.5s", "10", 2.5].map(parseDurationMs)).toEqual([
			250, 30_000, 300_000, 7_200_000, 604_800_000, 5_400_000, 1_500, 10_000, 2_500,
		]);
		expect(["", "5x", "1h1h", "-1s", "1 h", null, -1, Number.NaN].map(parseDurationMs)).toEqual(Array(8).fill(null));
	});

	it("turns delay into deliver_at counted from publish, and generates an id when none is given", () => {
		const given = prepareMessage("orders", { id: "order-42", body: { n: 1 }, delay: "30m", key: "k" }, nowMs);
		expect(given.id).toBe("order-42");
		expect(JSON.parse(given.json)).toEqual({
			id: "order-42",
			body: { n: 1 },
			key: "k",
			deliver_at: "2026-12-01T09:30:00.000Z",
		});
		const generated = prepareMessage("orders", { body: "x", deliver_at: 1796115600 }, nowMs);
		expect(generated.id).toMatch(/^msg_[0-9a-z]+[0-9a-f]{20}$/);
		expect(JSON.parse(generated.json)).toEqual({ id: generated.id, body: "x", deliver_at: 1796115600 });
	});

	it("throws an OutboxError naming what cannot be sent", () => {
		const code = (topic: unknown, message: unknown) => {
			try {
				prepareMessage(topic, message, nowMs);
				return null;
			} catch (error) {
				return error instanceof OutboxError ? `${error.code} ${error.path}` : String(error);
			}
		};
		expect(code("bad topic", { body: 1 })).toBe("invalid_topic topic");
		expect(code("orders", [1])).toBe("invalid_message message");
		expect(code("orders", {})).toBe("invalid_message body");
		expect(code("orders", { body: () => 1 })).toBe("invalid_message body");
		expect(code("orders", { body: 1, id: "no spaces allowed" })).toBe("invalid_message id");
		expect(code("orders", { body: 1, delay: "soon" })).toBe("invalid_message delay");
		expect(code("orders", { body: 1, delay: 1, deliver_at: 2 })).toBe("invalid_message delay");
		expect(code("orders", { body: 10n })).toBe("invalid_message body");
		expect(code("orders", { body: "x".repeat(MAX_MESSAGE_BYTES) })).toBe("message_too_large body");
		expect(code("orders", { body: "x".repeat(MAX_MESSAGE_BYTES - 100) })).toBeNull();
	});
});
