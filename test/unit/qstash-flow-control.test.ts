import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import { SYSTEM_TOPIC, SYSTEM_TOPIC_PARTITIONS } from "../../src/topic/client/system-topic";
import { IDLE_KEY_MS } from "../../src/topic/key-limits";
import { behave, receiverUrl, uniqueName, v2 } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";
import { partitionSql } from "../partitions";
import { sleep } from "../pull";

/** `/v2` flow control and queues (QSTASH.md "Flow control, queues and callbacks"). */

type Info = {
	flowControlKey: string;
	waitListSize: number;
	parallelismMax: number;
	parallelismCount: number;
	rateMax: number;
	rateCount: number;
	ratePeriod: number;
	isPaused: boolean;
	isPinnedParallelism: boolean;
	isPinnedRate: boolean;
};
type Queue = { name: string; parallelism: number; lag: number; paused: boolean };

const publish = (path: string, headers: Record<string, string>, body = "x") =>
	v2("POST", `/v2/publish/${receiverUrl()}${path}`, headers, body);
const flow = (key: string, value: string) => ({ "upstash-flow-control-key": key, "upstash-flow-control-value": value });
const info = async (key: string) =>
	(await (await v2("GET", `/v2/flowControl/${encodeURIComponent(key)}`)).json()) as Info;

describe("/v2 flow control: bad input", () => {
	it("answers 400 for malformed flow-control and queue headers, and schedules nothing", async () => {
		const path = `/v2fc/bad/${uniqueName("b")}`;
		const bad: Record<string, string>[] = [
			{ "upstash-flow-control-value": "parallelism=1" },
			{ "upstash-flow-control-key": "k" },
			flow("k", ""),
			flow("k", "parallelism=0"),
			flow("k", "parallelism=1001"),
			flow("k", "rate=x"),
			flow("k", "period=1s"),
			flow("k", "rate=1, period=8d"),
			flow("k", "rate=1, period=0s"),
			flow("k", "speed=3"),
			flow("k", "parallelism=1, parallelism=2"),
			flow("tab\tkey", "parallelism=1"),
			flow("x".repeat(257), "parallelism=1"),
			{ "upstash-queue-name": "no spaces" },
			{ "upstash-queue-name": "q", ...flow("k", "parallelism=1") },
		];
		for (const headers of bad) {
			const res = await publish(path, headers);
			expect(res.status, JSON.stringify(headers)).toBe(400);
			expect(((await res.json()) as { error: string }).error).toBeTruthy();
		}
		const percent = await v2("POST", `/v2/enqueue/a%25zz/${receiverUrl()}${path}`, {}, "x");
		expect(percent.status).toBe(400);
		const delayed = await v2("POST", `/v2/enqueue/q1/${receiverUrl()}${path}`, { "upstash-delay": "1s" }, "x");
		expect(delayed.status).toBe(400);
		const group = await v2("POST", `/v2/enqueue/q1/some-group`, {}, "x");
		expect(group.status).toBe(400);
		const badQueue = await v2("POST", "/v2/queues", { "content-type": "application/json" }, '{"queueName":"a b"}');
		expect(badQueue.status).toBe(400);
		const badPar = await v2(
			"POST",
			"/v2/queues",
			{ "content-type": "application/json" },
			'{"queueName":"q","parallelism":0}',
		);
		expect(badPar.status).toBe(400);
		const badPin = await v2("POST", "/v2/flowControl/k/pin?parallelism=0");
		expect(badPin.status).toBe(400);
		await sleep(200);
		expect(await (await fetch(`${receiverUrl()}/_control/received?path=${encodeURIComponent(path)}`)).json()).toEqual(
			[],
		);
	});
});

describe("/v2 flow control", () => {
	it("parallelism: one at a time per key, shown in GET /v2/flowControl/{key}; pin, pause and resume", async () => {
		const key = uniqueName("fck");
		const path = `/v2fc/par/${uniqueName("p")}`;
		await behave(path, { status: 200, delayMs: 300 });
		for (let i = 0; i < 3; i++) expect((await publish(path, flow(key, "parallelism=1"), `m${i}`)).status).toBe(200);
		const during = await waitFor("a waiting message", async () => {
			const i = await info(key);
			return i.parallelismCount === 1 && i.waitListSize >= 1 ? i : undefined;
		});
		expect(during).toMatchObject({ flowControlKey: key, parallelismMax: 1, isPaused: false });
		const got = await waitForReceived(path, 3);
		const times = got.map((r) => r.receivedAtMs).sort((a, b) => a - b);
		for (let i = 1; i < times.length; i++)
			expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(295);

		// The SDK may send a period without a rate: accepted (nothing to apply it to).
		expect((await publish(path, flow(key, "parallelism=1, period=1m"), "m2b")).status).toBe(200);
		await waitForReceived(path, 4);
		// Pinned: a message's value no longer changes the limit.
		expect((await v2("POST", `/v2/flowControl/${key}/pin?parallelism=2&rate=5&period=10`)).status).toBe(200);
		await publish(path, flow(key, "parallelism=9"), "m3");
		expect(await info(key)).toMatchObject({
			parallelismMax: 2,
			rateMax: 5,
			ratePeriod: 10,
			isPinnedParallelism: true,
			isPinnedRate: true,
		});
		expect((await v2("POST", `/v2/flowControl/${key}/unpin?parallelism=true`)).status).toBe(200);
		await publish(path, flow(key, "parallelism=3, rate=5, period=10s"), "m4");
		expect(await info(key)).toMatchObject({ parallelismMax: 3, isPinnedParallelism: false, isPinnedRate: true });
		await waitForReceived(path, 6);

		// Paused: a new message waits until resumed.
		expect((await v2("POST", `/v2/flowControl/${key}/pause`)).status).toBe(200);
		await publish(path, flow(key, "parallelism=3"), "m5");
		await sleep(500);
		expect(await waitForReceived(path, 6)).toHaveLength(6);
		expect(await info(key)).toMatchObject({ isPaused: true, waitListSize: 1 });
		const list = (await (await v2("GET", "/v2/flowControl")).json()) as Info[];
		expect(list.map((i) => i.flowControlKey)).toContain(key);
		expect((await v2("POST", `/v2/flowControl/${key}/resume`)).status).toBe(200);
		await waitForReceived(path, 7);
		// A pin of a rate alone keeps the key's period (10 s, pinned above).
		expect((await v2("POST", `/v2/flowControl/${key}/pin?rate=7`)).status).toBe(200);
		expect(await info(key)).toMatchObject({ rateMax: 7, ratePeriod: 10 });
		expect((await v2("GET", "/v2/flowControl/%01queue:x")).status).toBe(400);
		expect((await v2("GET", "/v2/flowControl/no-such-key-here")).status).toBe(404);
		const global = (await (await v2("GET", "/v2/globalParallelism")).json()) as Record<string, number>;
		expect(global).toMatchObject({ parallelismMax: 0 });
		expect(typeof global.parallelismCount).toBe("number");
	});

	it("rate: at most `rate` per period; resetRate starts a new window", async () => {
		const key = uniqueName("fcr");
		const path = `/v2fc/rate/${uniqueName("r")}`;
		for (let i = 0; i < 4; i++) expect((await publish(path, flow(key, "rate=2, period=1m"), `r${i}`)).status).toBe(200);
		await waitForReceived(path, 2);
		await sleep(400);
		expect(await waitForReceived(path, 2)).toHaveLength(2);
		expect(await info(key)).toMatchObject({ rateMax: 2, rateCount: 2, ratePeriod: 60, waitListSize: 2 });
		expect((await v2("POST", `/v2/flowControl/${key}/resetRate`)).status).toBe(200);
		expect(await waitForReceived(path, 4)).toHaveLength(4);
	});
});

describe("/v2 queues", () => {
	it("delivers in order, one at a time, a failing message's retries holding its place", async () => {
		const queue = uniqueName("q");
		const failing = `/v2q/fail/${uniqueName("f")}`;
		const ok = `/v2q/ok/${uniqueName("o")}`;
		await behave(failing, { status: 500 });
		const enqueue = (path: string, headers: Record<string, string> = {}) =>
			v2("POST", `/v2/enqueue/${queue}/${receiverUrl()}${path}`, headers, "x");
		const first = await enqueue(failing, { "upstash-retries": "2", "upstash-retry-delay": "200" });
		expect(first.status).toBe(200);
		expect((await enqueue(ok)).status).toBe(200);
		expect((await enqueue(ok)).status).toBe(200);
		const q = (await (await v2("GET", `/v2/queues/${queue}`)).json()) as Queue;
		expect(q).toMatchObject({ name: queue, parallelism: 1, paused: false });
		const attempts = await waitForReceived(failing, 3);
		const delivered = await waitForReceived(ok, 2);
		// Nothing after the failing message went before its last attempt.
		const lastFail = Math.max(...attempts.map((r) => r.receivedAtMs));
		for (const r of delivered) expect(r.receivedAtMs).toBeGreaterThan(lastFail);
		const [a, b] = delivered.map((r) => r.receivedAtMs);
		expect(b as number).toBeGreaterThan(a as number);
		const listed = (await (await v2("GET", "/v2/queues")).json()) as Queue[];
		expect(listed.find((l) => l.name === queue)).toMatchObject({ parallelism: 1, lag: 0 });
	});

	it("upsert sets parallelism and paused; a paused queue holds its messages; delete cancels them", async () => {
		const queue = uniqueName("qp");
		const path = `/v2q/p/${uniqueName("p")}`;
		const upsert = (body: unknown) =>
			v2("POST", "/v2/queues", { "content-type": "application/json" }, JSON.stringify(body));
		expect((await upsert({ queueName: queue, parallelism: 2, paused: true })).status).toBe(200);
		const batch = await v2(
			"POST",
			"/v2/batch",
			{ "content-type": "application/json" },
			JSON.stringify([
				{ destination: `${receiverUrl()}${path}`, queue, body: "1" },
				{ destination: `${receiverUrl()}${path}`, queue, body: "2" },
			]),
		);
		expect(batch.status).toBe(200);
		expect(JSON.stringify(await batch.json())).not.toContain("error");
		await sleep(400);
		expect(await waitForReceived(path, 0)).toHaveLength(0);
		expect((await (await v2("GET", `/v2/queues/${queue}`)).json()) as Queue).toMatchObject({
			parallelism: 2,
			paused: true,
			lag: 2,
		});
		expect((await v2("POST", `/v2/queues/${queue}/resume`)).status).toBe(200);
		await waitForReceived(path, 2);
		expect((await v2("POST", `/v2/queues/${queue}/pause`)).status).toBe(200);
		expect((await v2("POST", `/v2/enqueue/${queue}/${receiverUrl()}${path}`, {}, "3")).status).toBe(200);
		expect((await v2("DELETE", `/v2/queues/${queue}`)).status).toBe(200);
		expect((await v2("GET", `/v2/queues/${queue}`)).status).toBe(404);
		await sleep(400);
		expect(await waitForReceived(path, 2)).toHaveLength(2);
		expect((await v2("DELETE", `/v2/queues/${queue}`)).status).toBe(404);
		expect((await v2("POST", `/v2/queues/${queue}/pause`)).status).toBe(404);
	});
});

describe("/v2 filters by flow-control key and queue", () => {
	it("cancel and logs select a key's or a queue's messages only", async () => {
		const key = uniqueName("fcf");
		const queue = uniqueName("qf");
		const path = `/v2fc/filter/${uniqueName("f")}`;
		for (let i = 0; i < 2; i++) {
			expect((await publish(path, { "upstash-delay": "1h", ...flow(key, "parallelism=5") }, `k${i}`)).status).toBe(200);
		}
		expect((await publish(path, { "upstash-delay": "1h" }, "plain")).status).toBe(200);
		expect((await v2("POST", `/v2/queues/${queue}/pause`)).status).toBe(404);
		const upsert = await v2(
			"POST",
			"/v2/queues",
			{ "content-type": "application/json" },
			JSON.stringify({ queueName: queue, paused: true }),
		);
		expect(upsert.status).toBe(200);
		const queued = await v2("POST", `/v2/enqueue/${queue}/${receiverUrl()}${path}`, {}, "q");
		const { messageId } = (await queued.json()) as { messageId: string };
		const logs = (await (await v2("GET", `/v2/events?queueName=${queue}`)).json()) as {
			events: { messageId: string }[];
		};
		expect(new Set(logs.events.map((e) => e.messageId))).toEqual(new Set([messageId]));
		const keyed = (await (await publish(path, { "upstash-delay": "1h", ...flow(key, "rate=1") }, "k2")).json()) as {
			messageId: string;
		};
		expect(await (await v2("GET", `/v2/messages/${keyed.messageId}`)).json()).toMatchObject({ flowControlKey: key });
		expect(await (await v2("GET", `/v2/messages/${messageId}`)).json()).toMatchObject({ queueName: queue });
		const cancelled = await v2("DELETE", `/v2/messages?flowControlKey=${key}`);
		expect(await cancelled.json()).toEqual({ cancelled: 3 });
		expect(await (await v2("DELETE", `/v2/messages?queueName=${queue}`)).json()).toEqual({ cancelled: 1 });
	});
});

describe("/v2 flow-control keys are forgotten once idle", () => {
	it("a key set only by messages goes an hour after its last message finished; a paused one stays", async () => {
		const idle = uniqueName("fcidle");
		const kept = uniqueName("fckept");
		const path = `/v2fc/idle/${uniqueName("i")}`;
		expect((await publish(path, flow(idle, "parallelism=2"), "a")).status).toBe(200);
		expect((await publish(path, flow(kept, "parallelism=2"), "b")).status).toBe(200);
		await waitForReceived(path, 2);
		expect((await v2("POST", `/v2/flowControl/${kept}/pause`)).status).toBe(200);
		const age = (key: string) =>
			partitionSql(
				SYSTEM_TOPIC,
				partitionOf(key, SYSTEM_TOPIC_PARTITIONS),
				"UPDATE key_limits SET updated_at_ms = ? WHERE key = ?",
				Date.now() - IDLE_KEY_MS - 1000,
				key,
			);
		await age(idle);
		await age(kept);
		for (const key of [idle, kept]) {
			await runDurableObjectAlarm(env.TOPIC.getByName(`${SYSTEM_TOPIC}#${partitionOf(key, SYSTEM_TOPIC_PARTITIONS)}`));
		}
		expect((await v2("GET", `/v2/flowControl/${idle}`)).status).toBe(404);
		expect(await info(kept)).toMatchObject({ isPaused: true });
		// The next message with the key sets its limits again.
		expect((await publish(path, flow(idle, "parallelism=3"), "c")).status).toBe(200);
		expect(await info(idle)).toMatchObject({ parallelismMax: 3 });
	});
});
