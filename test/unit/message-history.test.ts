import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { behave, json, receiverUrl, uniqueName } from "../helpers";
import { settled } from "../metrics";
import { partitionedTopic, partitionSql, partitionStub, publishBatch } from "../partitions";

/** A message's failed attempts in its detail (`history`): "why didn't my message arrive" (issue 15). */

type History = { attempt: number; at: string; outcome: "retry" | "dead"; status: number | null; error: string | null };
type Detail = {
	deliveries: {
		subscription: string;
		state: string;
		attempts: number;
		last_status: number | null;
		history: History[];
	}[];
};

const rows = (topic: string) =>
	partitionSql<{ n: number }>(topic, 0, "SELECT COUNT(*) AS n FROM attempt_failures").then((r) => r[0]?.n);

describe("message detail: failed attempts", () => {
	it("lists each failed attempt of a delivery, oldest first, and nothing for a delivered one", async () => {
		const topic = uniqueName("hist");
		const failing = `/hist/bad/${topic}`;
		await behave(failing, {
			sequence: [{ status: 503 }, { status: 500 }, { status: 429 }],
		});
		await partitionedTopic(topic, 1, { type: "webhook", url: `${receiverUrl()}/hist/ok/${topic}` });
		await json("PUT", `/v1/topics/${topic}/subscriptions/bad`, {
			type: "webhook",
			url: `${receiverUrl()}${failing}`,
			retry: { max_attempts: 3, backoff: "fixed", base: "0s" },
		});
		const before = Date.now();
		await publishBatch(topic, [{ id: "m1", body: { n: 1 } }]);
		await settled(topic, "bad");
		await settled(topic, "hook");
		const res = await json<Detail>("GET", `/v1/topics/${topic}/messages/m1`);
		expect(res.status).toBe(200);
		const [bad, hook] = res.body.deliveries;
		expect(hook).toMatchObject({ subscription: "hook", state: "delivered", history: [] });
		expect(bad).toMatchObject({ subscription: "bad", state: "dead", attempts: 3, last_status: 429 });
		expect(bad?.history.map(({ at: _at, ...h }) => h)).toEqual([
			{ attempt: 1, outcome: "retry", status: 503, error: "HTTP 503" },
			{ attempt: 2, outcome: "retry", status: 500, error: "HTTP 500" },
			{ attempt: 3, outcome: "dead", status: 429, error: "HTTP 429" },
		]);
		for (const h of bad?.history ?? []) {
			expect(h.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
			expect(Date.parse(h.at)).toBeGreaterThanOrEqual(before);
		}
		// The success path wrote nothing: only the three failures are stored.
		expect(await rows(topic)).toBe(3);
	});

	it("keeps the last 20 failures of a delivery", async () => {
		const topic = uniqueName("hist-cap");
		const failing = `/hist/cap/${topic}`;
		await behave(failing, { status: 503 });
		await partitionedTopic(topic, 1, {
			type: "webhook",
			url: `${receiverUrl()}${failing}`,
			retry: { max_attempts: 25, backoff: "fixed", base: "0s" },
		});
		await publishBatch(topic, [{ id: "m1", body: 1 }]);
		expect(await settled(topic, "hook")).toMatchObject({ dead: 1 });
		const [d] = (await json<Detail>("GET", `/v1/topics/${topic}/messages/m1`)).body.deliveries;
		expect(d?.attempts).toBe(25);
		expect(d?.history.map((h) => h.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
		expect(d?.history.at(-1)?.outcome).toBe("dead");
		expect(await rows(topic)).toBe(20);
	});

	it("records a pull nack and an expired lease as failures; they go with their message", async () => {
		const topic = uniqueName("hist-pull");
		await partitionedTopic(topic, 1, { type: "pull", retry: { max_attempts: 5, backoff: "fixed", base: "0s" } });
		await publishBatch(topic, [{ id: "m1", body: 1 }]);
		const got = await json<{ messages: { receipt: string }[] }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/hook/receive`,
			{ visibility_timeout: "1s" },
		);
		const receipt = got.body.messages[0]?.receipt;
		expect((await json("POST", `/v1/topics/${topic}/subscriptions/hook/nack`, { receipts: [receipt] })).status).toBe(
			200,
		);
		// Leased again, and the lease ends without an answer (the alarm ends expired leases).
		const again = await json<{ messages: unknown[] }>("POST", `/v1/topics/${topic}/subscriptions/hook/receive`, {});
		expect(again.body.messages).toHaveLength(1);
		await partitionSql(topic, 0, "UPDATE deliveries SET next_at_ms = ? WHERE state = 'in_flight'", Date.now() - 1);
		await runDurableObjectAlarm(partitionStub(topic, 0));
		const [d] = (await json<Detail>("GET", `/v1/topics/${topic}/messages/m1`)).body.deliveries;
		expect(d?.history.map(({ at: _at, ...h }) => h)).toEqual([
			{ attempt: 1, outcome: "retry", status: null, error: "nacked" },
			{ attempt: 2, outcome: "retry", status: null, error: "lease expired without an outcome" },
		]);
		// Removed with the message (as the retention sweep removes it).
		await partitionSql(topic, 0, "DELETE FROM deliveries");
		await partitionSql(topic, 0, "DELETE FROM messages");
		expect(await rows(topic)).toBe(0);
	});

	it("answers 404 for an unknown message or topic and 400 for a bad id", async () => {
		const topic = uniqueName("hist-404");
		await partitionedTopic(topic, 1);
		const missing = await json<{ error: { code: string } }>("GET", `/v1/topics/${topic}/messages/nope`);
		expect(missing.status).toBe(404);
		expect(missing.body.error.code).toBe("message_not_found");
		const noTopic = await json<{ error: { code: string } }>("GET", `/v1/topics/${uniqueName("x")}/messages/nope`);
		expect(noTopic.body.error.code).toBe("topic_not_found");
		expect((await json("GET", `/v1/topics/${topic}/messages/-bad`)).status).toBe(400);
	});
});
