import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bucketId, DEDUP_WINDOW_MS, dedupIdKey } from "../../src/http/v2/publish";
import { topicClient } from "../../src/topic/client";
import { partitionOf } from "../../src/topic/client/routing";
import { SYSTEM_TOPIC, SYSTEM_TOPIC_PARTITIONS } from "../../src/topic/client/system-topic";
import { receiverUrl, uniqueName, v2, v2Options } from "../helpers";
import { partitionSql } from "../partitions";

/**
 * QSTASH.md: a repeated deduplication id to the same destination is a duplicate within 24 h of the
 * first publish, and publishes again after. The window slides: the message of the previous 24 h
 * bucket counts while it is younger than 24 h. Time is moved by rewriting the stored publish time.
 */
describe("/v2 deduplication window", () => {
	const publish = (dest: string, dedup: string) =>
		v2("POST", `/v2/publish/${dest}`, { "upstash-deduplication-id": dedup, "upstash-delay": "1h" }, "x");

	it("a message of the previous bucket is the original while younger than 24 h, and not after", async () => {
		const dest = `${receiverUrl()}/v2dedup/${uniqueName("w")}`;
		const nowMs = Date.now();
		const bucket = Math.floor(nowMs / DEDUP_WINDOW_MS);
		const key = await dedupIdKey(dest, "w-1");
		const earlier = bucketId(key, bucket - 1);
		// The system topic exists once something was published to a URL.
		expect((await publish(`${receiverUrl()}/v2dedup/warm`, uniqueName("warm"))).status).toBe(200);
		// A publish of the previous bucket, stored as the route would have stored it.
		const [stored] = await topicClient(env, SYSTEM_TOPIC).messages.publish([
			{
				id: earlier,
				body: "x",
				contentType: "application/octet-stream",
				headers: {},
				requestId: null,
				deliverAtMs: nowMs + 3_600_000,
				options: v2Options(dest),
			},
		]);
		expect(stored).toMatchObject({ id: earlier, duplicate: false });
		const setAge = (ageMs: number) =>
			partitionSql(
				SYSTEM_TOPIC,
				partitionOf(earlier, SYSTEM_TOPIC_PARTITIONS),
				"UPDATE messages SET published_at_ms = ? WHERE id = ?",
				Date.now() - ageMs,
				earlier,
			);

		await setAge(DEDUP_WINDOW_MS - 60_000);
		const within = await publish(dest, "w-1");
		expect(within.status).toBe(202);
		expect(await within.json()).toEqual({ messageId: earlier, url: dest, deduplicated: true });

		await setAge(DEDUP_WINDOW_MS + 60_000);
		const after = await publish(dest, "w-1");
		expect(after.status).toBe(200);
		const { messageId } = (await after.json()) as { messageId: string };
		expect(messageId).toBe(bucketId(key, bucket));
		// And that new publish is the original for the next 24 h.
		const repeat = await publish(dest, "w-1");
		expect(repeat.status).toBe(202);
		expect(((await repeat.json()) as { messageId: string }).messageId).toBe(messageId);
		// Another destination with the same id is not a duplicate.
		expect((await publish(`${dest}-other`, "w-1")).status).toBe(200);
	});
});

describe("/v2 deduplication across keys", () => {
	it("a repeat of a deduplication id with a flow-control key, or another, is deduplicated (202), not refused", async () => {
		const dest = `${receiverUrl()}/v2dedup/${uniqueName("k")}`;
		const dedup = uniqueName("dk");
		const send = (headers: Record<string, string>) =>
			v2("POST", `/v2/publish/${dest}`, { "upstash-deduplication-id": dedup, "upstash-delay": "1h", ...headers }, "x");
		const first = await send({});
		expect(first.status).toBe(200);
		const id = ((await first.json()) as { messageId: string }).messageId;
		for (const headers of [
			{ "upstash-flow-control-key": "fk-1", "upstash-flow-control-value": "parallelism=1" },
			{ "upstash-flow-control-key": "fk-2", "upstash-flow-control-value": "parallelism=2" },
		]) {
			const again = await send(headers);
			const body = await again.json();
			expect(again.status, JSON.stringify(body)).toBe(202);
			expect(body).toEqual({ messageId: id, url: dest, deduplicated: true });
		}
	});
});
