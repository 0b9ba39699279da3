import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/config";
import { partitionOf } from "../../src/topic/client/routing";
import { publishManyToSystemTopic, SYSTEM_TOPIC, SYSTEM_TOPIC_PARTITIONS } from "../../src/topic/client/system-topic";
import { TopicStore } from "../../src/topic/store";
import type { CallbackDraft, CallbackSink } from "../../src/topic/types";
import { received, receiverUrl, topicWithWebhook, uniqueName, v2, v2Options } from "../helpers";
import { message, publishParked, sql, stubOf, waitFor, waitForReceived } from "../lifecycle";

/** A callback to `path` at the receiver, as an attempt would write it. */
function draftTo(path: string): CallbackDraft {
	return {
		body: JSON.stringify({ status: 200, retried: 0 }),
		contentType: "application/json",
		headers: {},
		requestId: null,
		deliverAtMs: Date.now(),
		options: { ...v2Options(`${receiverUrl()}${path}`), contentType: "application/json", retries: 0 },
	};
}

const outboxRows = (topic: string) =>
	sql<{ id: string; message: string }>(topic, "SELECT id, message FROM callback_outbox");

describe("/v2 callbacks are written with the attempt's outcome, never lost or doubled", () => {
	it("a group partition writes a callback to its outbox only in the transaction that records the outcome", async () => {
		const topic = uniqueName("cbout");
		await topicWithWebhook(topic, `/v2cbo/${topic}`);
		const cbPath = `/v2cbo/${uniqueName("cb")}`;
		await publishParked(topic, [{ ...message("m1", Date.now()), options: { ...v2Options(null), topicName: topic } }]);
		await runInDurableObject(stubOf(topic), (instance, state) => {
			const store = new TopicStore(state.storage);
			const outbox = (instance as unknown as { callbacks: CallbackSink }).callbacks;
			const [claim] = store.claimDue(Date.now() + 1000, 10, () => Date.now() + 60_000);
			if (!claim) throw new Error("nothing claimed");
			const attempt = (lease: number) => ({
				kind: "delivered" as const,
				mid: claim.mid,
				sid: claim.sid,
				lease,
				messageId: claim.messageId,
				attempt: claim.attempt,
				status: 200,
				atMs: Date.now(),
				callbacks: [draftTo(cbPath)],
			});
			const count = () => state.storage.sql.exec("SELECT 1 FROM callback_outbox").toArray().length;
			// An outcome that no longer applies (the delivery was re-leased) is not recorded: no callback.
			expect(store.transaction(() => store.recordAttempts([attempt(claim.lease + 1)], Date.now(), outbox))).toBe(0);
			expect(count()).toBe(0);
			// A transaction that fails after recording keeps neither the outcome nor its callback.
			expect(() =>
				store.transaction(() => {
					store.recordAttempts([attempt(claim.lease)], Date.now(), outbox);
					throw new Error("crash");
				}),
			).toThrow("crash");
			expect(count()).toBe(0);
			expect(store.transaction(() => store.recordAttempts([attempt(claim.lease)], Date.now(), outbox))).toBe(1);
			expect(count()).toBe(1);
		});
	});

	it("a forward repeated after a crash (stored, not yet deleted) schedules the callback once", async () => {
		const topic = uniqueName("cbfwd");
		await topicWithWebhook(topic, `/v2cbo/${topic}`);
		const cbPath = `/v2cbo/${uniqueName("cb")}`;
		await runInDurableObject(stubOf(topic), (instance, state) => {
			const outbox = (instance as unknown as { callbacks: CallbackSink }).callbacks;
			state.storage.transactionSync(() => outbox.write([draftTo(cbPath)], Date.now()));
		});
		const [row] = await outboxRows(topic);
		if (!row) throw new Error("no outbox row");
		// The forward stored the callback in the system topic, then the instance died before deleting the row.
		const [first] = await publishManyToSystemTopic(env as unknown as AppEnv, [
			{ id: row.id, ...(JSON.parse(row.message) as CallbackDraft) },
		]);
		expect(first).toMatchObject({ id: row.id, duplicate: false });
		await runInDurableObject(stubOf(topic), (_i, state) => state.storage.setAlarm(Date.now() + 1));
		await runDurableObjectAlarm(stubOf(topic));
		expect(await outboxRows(topic)).toEqual([]);
		const got = await waitForReceived(cbPath, 1);
		expect(got[0]?.headers["upstash-message-id"]).toBe(row.id);
		await new Promise((r) => setTimeout(r, 500));
		expect(await received(cbPath)).toHaveLength(1);
		const events = (await (await v2("GET", `/v2/events?messageId=${row.id}`)).json()) as {
			events: { state: string }[];
		};
		expect(events.events.filter((e) => e.state === "CREATED")).toHaveLength(1);
	});

	it("a callback of a URL publish lives in the partition that ran the attempt, found by its messageId", async () => {
		const dest = `/v2cbo/${uniqueName("dest")}`;
		const cbUrl = `${receiverUrl()}/v2cbo/${uniqueName("later")}`;
		const res = await v2("POST", `/v2/publish/${receiverUrl()}${dest}`, {
			"upstash-callback": cbUrl,
			"upstash-callback-delay": "1h",
		});
		const { messageId } = (await res.json()) as { messageId: string };
		const callbackId = await waitFor("the callback's CREATED event", async () => {
			const page = (await (await v2("GET", `/v2/events?url=${encodeURIComponent(cbUrl)}`)).json()) as {
				events: { messageId: string }[];
			};
			return page.events[0]?.messageId;
		});
		expect(partitionOf(callbackId, SYSTEM_TOPIC_PARTITIONS)).toBe(partitionOf(messageId, SYSTEM_TOPIC_PARTITIONS));
		const pending = (await (await v2("GET", `/v2/messages/${callbackId}`)).json()) as Record<string, unknown>;
		expect(pending).toMatchObject({ messageId: callbackId, url: cbUrl, method: "POST" });
		expect(pending.callback).toBeUndefined();
		expect(await (await v2("DELETE", `/v2/messages/${callbackId}`)).json()).toEqual({ cancelled: 1 });
	});

	it("a delivery whose lease expires into the DLQ sends its failure callback (no answer known)", async () => {
		const dest = `/v2cbo/${uniqueName("lost")}`;
		const failure = `/v2cbo/${uniqueName("fcb")}`;
		const res = await v2("POST", `/v2/publish/${receiverUrl()}${dest}`, {
			"upstash-delay": "1h",
			"upstash-failure-callback": `${receiverUrl()}${failure}`,
		});
		const { messageId } = (await res.json()) as { messageId: string };
		const stub = env.TOPIC.getByName(`${SYSTEM_TOPIC}#${partitionOf(messageId, SYSTEM_TOPIC_PARTITIONS)}`);
		// As if an instance claimed its last attempt and died: in flight, lease over, attempts used up.
		await runInDurableObject(stub, async (_i, state) => {
			state.storage.sql.exec(
				`UPDATE deliveries SET state = 'in_flight', attempts = 10, next_at_ms = ?
				 WHERE mid = (SELECT mid FROM messages WHERE id = ?)`,
				Date.now() - 1,
				messageId,
			);
			await state.storage.setAlarm(Date.now() + 1);
		});
		await runDurableObjectAlarm(stub);
		const [got] = await waitForReceived(failure, 1);
		const body = JSON.parse(got?.body ?? "{}") as Record<string, unknown>;
		const dlq = (await (await v2("GET", `/v2/dlq?messageId=${messageId}`)).json()) as {
			messages: { dlqId: string }[];
		};
		expect(body).toMatchObject({
			status: 0,
			error: "lease expired without an outcome",
			retried: 9,
			sourceMessageId: messageId,
			dlqId: dlq.messages[0]?.dlqId,
		});
		expect(await received(dest)).toEqual([]);
	});

	it("a lease expiry counts the message's own Upstash-Retries, not the system subscription's attempts", async () => {
		const dest = `/v2cbo/${uniqueName("own")}`;
		const publish = async () => {
			const res = await v2("POST", `/v2/publish/${receiverUrl()}${dest}`, {
				"upstash-delay": "1h",
				"upstash-retries": "1",
			});
			return ((await res.json()) as { messageId: string }).messageId;
		};
		const expire = async (messageId: string, attempts: number) => {
			const stub = env.TOPIC.getByName(`${SYSTEM_TOPIC}#${partitionOf(messageId, SYSTEM_TOPIC_PARTITIONS)}`);
			await runInDurableObject(stub, async (_i, state) => {
				state.storage.sql.exec(
					`UPDATE deliveries SET state = 'in_flight', attempts = ?, next_at_ms = ?
					 WHERE mid = (SELECT mid FROM messages WHERE id = ?)`,
					attempts,
					Date.now() - 1,
					messageId,
				);
				await state.storage.setAlarm(Date.now() + 1);
			});
			await runDurableObjectAlarm(stub);
			return runInDurableObject(
				stub,
				(_i, state) =>
					state.storage.sql
						.exec<{ state: string }>(
							"SELECT d.state FROM deliveries d JOIN messages m ON m.mid = d.mid WHERE m.id = ?",
							messageId,
						)
						.toArray()[0]?.state,
			);
		};
		// Both attempts (1 + 1 retry) used: dead at once, never a third.
		expect(await expire(await publish(), 2)).toBe("dead");
		// One used: retried (scheduled again, or already sent again).
		expect(["scheduled", "in_flight", "delivered"]).toContain(await expire(await publish(), 1));
	});
});
