import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LATENESS_BOUNDS_MS, latenessBucket } from "../../src/topic/metrics";
import { AttemptTally } from "../../src/topic/store-metrics";
import { behave, json, receiverUrl, uniqueName } from "../helpers";
import { settled } from "../metrics";
import { partitionedTopic, partitionSql, publishBatch } from "../partitions";

/** `GET /v1/topics/{topic}/lateness` and the counters behind it (issue 15). */

type Lateness = {
	topic: string;
	buckets_ms: number[];
	subscriptions: {
		name: string;
		counts: number[];
		count: number;
		sum_ms: number;
		attempts: { delivered: number; retry: number; dead: number };
	}[];
};

describe("lateness buckets", () => {
	it("puts a lateness in the first bucket whose bound it does not exceed; early counts as on time", () => {
		expect(LATENESS_BOUNDS_MS).toEqual([1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000]);
		const cases: [number, number][] = [
			[-5, 0],
			[0, 0],
			[1, 0],
			[2, 1],
			[3, 2],
			[1000, 9],
			[1001, 10],
			[60_000, 14],
			[60_001, 15],
			[86_400_000, 15],
		];
		for (const [ms, bucket] of cases) expect(latenessBucket(ms), `${ms} ms`).toBe(bucket);
	});

	it("writes a batch's tally as one UPSERT per table, adding to what is stored", async () => {
		const stub = env.TOPIC.getByName(`${uniqueName("tally")}#0`);
		const rows = await runInDurableObject(stub, async (instance, state) => {
			await instance.partitions(); // the constructor migrated the storage
			const statements: string[] = [];
			const sql = {
				exec: (query: string, ...bindings: SqlStorageValue[]) => {
					statements.push(query);
					return state.storage.sql.exec(query, ...bindings);
				},
			} as unknown as SqlStorage;
			for (let round = 0; round < 2; round++) {
				const tally = new AttemptTally();
				for (let i = 0; i < 48; i++) {
					tally.started(1 + (i % 2), i % 3 === 0 ? 0 : 70_000);
					tally.outcome(1 + (i % 2), i % 4 === 0 ? "retry" : "delivered");
				}
				tally.write(sql);
			}
			return {
				statements,
				lateness: state.storage.sql.exec("SELECT sid, bucket, n, sum_ms FROM lateness ORDER BY sid, bucket").toArray(),
				attempts: state.storage.sql.exec("SELECT sid, outcome, n FROM attempt_counts ORDER BY sid, outcome").toArray(),
			};
		});
		// Two rounds of 48 attempts: two statements each, whatever the number of attempts.
		expect(rows.statements).toHaveLength(4);
		expect(rows.lateness).toEqual([
			{ sid: 1, bucket: 0, n: 16, sum_ms: 0 },
			{ sid: 1, bucket: 15, n: 32, sum_ms: 32 * 70_000 },
			{ sid: 2, bucket: 0, n: 16, sum_ms: 0 },
			{ sid: 2, bucket: 15, n: 32, sum_ms: 32 * 70_000 },
		]);
		expect(rows.attempts).toEqual([
			{ sid: 1, outcome: "delivered", n: 24 },
			{ sid: 1, outcome: "retry", n: 24 },
			{ sid: 2, outcome: "delivered", n: 48 },
		]);
	});
});

describe("GET /v1/topics/{topic}/lateness", () => {
	it("counts every push attempt per subscription, summed over partitions, with outcomes", async () => {
		const topic = uniqueName("late");
		const ok = `/late/ok/${topic}`;
		const failing = `/late/bad/${topic}`;
		await behave(failing, { status: 503 });
		await partitionedTopic(topic, 3, { type: "webhook", url: `${receiverUrl()}${ok}` });
		const bad = await json("PUT", `/v1/topics/${topic}/subscriptions/bad`, {
			type: "webhook",
			url: `${receiverUrl()}${failing}`,
			retry: { max_attempts: 2, backoff: "fixed", base: "0s" },
		});
		expect(bad.status).toBe(201);
		const n = 24;
		await publishBatch(
			topic,
			Array.from({ length: n }, (_, i) => ({ id: `m${i}`, body: { i } })),
		);
		expect(await settled(topic, "hook")).toMatchObject({ delivered: n });
		expect(await settled(topic, "bad")).toMatchObject({ dead: n });
		// Spread over the partitions, each with its own counters.
		const perPartition = await Promise.all(
			[0, 1, 2].map((p) => partitionSql<{ n: number }>(topic, p, "SELECT COALESCE(SUM(n), 0) AS n FROM lateness")),
		);
		expect(perPartition.filter(([r]) => (r?.n ?? 0) > 0).length).toBeGreaterThan(1);

		const res = await json<Lateness>("GET", `/v1/topics/${topic}/lateness`);
		expect(res.status).toBe(200);
		expect(res.body.topic).toBe(topic);
		expect(res.body.buckets_ms).toEqual([...LATENESS_BOUNDS_MS]);
		const [badSub, hook] = res.body.subscriptions;
		expect(res.body.subscriptions.map((s) => s.name)).toEqual(["bad", "hook"]);
		expect(hook?.counts).toHaveLength(16);
		expect(hook).toMatchObject({ count: n, attempts: { delivered: n, retry: 0, dead: 0 } });
		expect(hook?.counts.reduce((a, b) => a + b, 0)).toBe(n);
		// Each attempt leaves at its due time or after: lateness is small here, never negative.
		expect(hook?.sum_ms).toBeGreaterThanOrEqual(0);
		expect(hook?.sum_ms).toBeLessThan(n * 10_000);
		expect(badSub).toMatchObject({ count: 2 * n, attempts: { delivered: 0, retry: n, dead: n } });
	});

	it("starts from zero for a subscription created again, and shows one without attempts", async () => {
		const topic = uniqueName("late-new");
		await partitionedTopic(topic, 1, { type: "webhook", url: `${receiverUrl()}/late/new/${topic}` });
		await publishBatch(topic, [{ id: "a", body: 1 }]);
		expect(await settled(topic, "hook")).toMatchObject({ delivered: 1 });
		expect((await json<Lateness>("GET", `/v1/topics/${topic}/lateness`)).body.subscriptions[0]?.count).toBe(1);
		await json("PUT", `/v1/topics/${topic}/subscriptions/other`, { type: "pull" });
		expect((await json("DELETE", `/v1/topics/${topic}/subscriptions/hook`)).status).toBe(200);
		await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, { type: "webhook", url: `${receiverUrl()}/x` });
		const res = await json<Lateness>("GET", `/v1/topics/${topic}/lateness`);
		expect(res.body.subscriptions).toEqual(
			["hook", "other"].map((name) => ({
				name,
				counts: Array(16).fill(0),
				count: 0,
				sum_ms: 0,
				attempts: { delivered: 0, retry: 0, dead: 0 },
			})),
		);
	});

	it("answers 404 for an unknown topic and 400 for a bad topic name", async () => {
		const missing = await json<{ error: { code: string } }>("GET", `/v1/topics/${uniqueName("none")}/lateness`);
		expect(missing.status).toBe(404);
		expect(missing.body.error.code).toBe("topic_not_found");
		const bad = await json<{ error: { code: string; issues: { path: string }[] } }>("GET", "/v1/topics/-bad/lateness");
		expect(bad.status).toBe(400);
		expect(bad.body.error.code).toBe("invalid_request");
		expect(bad.body.error.issues[0]?.path).toBe("topic");
	});
});
