import { Client, Receiver } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import type { Receiver as HttpReceiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import { type Sundial, sleep } from "./lib.js";

/** The real @upstash/qstash SDK's flow control, queues and callbacks against the real Worker. */
describe("@upstash/qstash flow control, queues and callbacks (wrangler dev)", () => {
	let sundial: Sundial;
	let client: Client;
	let http: HttpReceiver;

	useSundial(async (s, r) => {
		sundial = s;
		http = r as HttpReceiver;
		client = new Client({ baseUrl: sundial.worker.url, token: sundial.token, retry: false });
	});

	const arrivals = (path: string) =>
		http.received
			.filter((r) => r.path === path)
			.map((r) => r.receivedAtMs)
			.sort((a, b) => a - b);

	it("flowControl parallelism 1: one at a time; flowControl.get, pause, resume, pin, unpin, resetRate", async () => {
		http.behaviour("/sdkfc/slow", async () => {
			await new Promise((resolve) => setTimeout(resolve, 300));
			return { status: 200 };
		});
		const url = `${http.url}/sdkfc/slow`;
		for (let i = 0; i < 3; i++) {
			await client.publishJSON({ url, body: { i }, flowControl: { key: "sdk-key", parallelism: 1 } });
		}
		const info = await client.flowControl.get("sdk-key");
		expect(info).toMatchObject({ flowControlKey: "sdk-key", parallelismMax: 1, isPaused: false });
		await http.waitFor(() => arrivals("/sdkfc/slow").length >= 3, 15_000);
		const times = arrivals("/sdkfc/slow");
		for (let i = 1; i < times.length; i++)
			expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(295);

		await client.flowControl.pause("sdk-key");
		await client.publishJSON({ url, body: { i: 3 }, flowControl: { key: "sdk-key", parallelism: 1 } });
		await new Promise((resolve) => setTimeout(resolve, 600));
		expect(arrivals("/sdkfc/slow")).toHaveLength(3);
		expect(await client.flowControl.get("sdk-key")).toMatchObject({ isPaused: true, waitListSize: 1 });
		await client.flowControl.resume("sdk-key");
		await http.waitFor(() => arrivals("/sdkfc/slow").length >= 4, 15_000);

		await client.flowControl.pin("sdk-key", { parallelism: 3, rate: 20, period: 60 });
		expect(await client.flowControl.get("sdk-key")).toMatchObject({
			parallelismMax: 3,
			rateMax: 20,
			ratePeriod: 60,
			isPinnedParallelism: true,
			isPinnedRate: true,
		});
		await client.flowControl.unpin("sdk-key", { parallelism: true, rate: true });
		await client.flowControl.resetRate("sdk-key");
		expect(await client.flowControl.get("sdk-key")).toMatchObject({ isPinnedParallelism: false, isPinnedRate: false });
		expect(await client.flowControl.getGlobalParallelism()).toMatchObject({ parallelismMax: 0 });
	});

	it("flowControl rate: at most `rate` per period at the receiver", async () => {
		const url = `${http.url}/sdkfc/rate`;
		await client.batchJSON(
			Array.from({ length: 6 }, (_, i) => ({ url, body: { i }, flowControl: { key: "sdk-rate", rate: 2, period: 1 } })),
		);
		await http.waitFor(() => arrivals("/sdkfc/rate").length >= 6, 20_000);
		const times = arrivals("/sdkfc/rate");
		for (const t of times) expect(times.filter((u) => u <= t && u > t - 1000).length).toBeLessThanOrEqual(2);
	});

	it("queues: upsert, enqueueJSON in order with a failing head holding its place, get, list, pause, delete", async () => {
		let failures = 0;
		http.behaviour("/sdkq/first", () => {
			failures += 1;
			return { status: failures < 3 ? 500 : 200 };
		});
		const queue = client.queue({ queueName: "sdk-orders" });
		await queue.upsert({ parallelism: 1 });
		await queue.enqueueJSON({ url: `${http.url}/sdkq/first`, body: { n: 1 }, retries: 3, retryDelay: "200" });
		await queue.enqueueJSON({ url: `${http.url}/sdkq/next`, body: { n: 2 } });
		await queue.enqueueJSON({ url: `${http.url}/sdkq/next`, body: { n: 3 } });
		await http.waitFor(() => arrivals("/sdkq/next").length >= 2, 20_000);
		const first = arrivals("/sdkq/first");
		expect(first).toHaveLength(3);
		const next = http.received.filter((r) => r.path === "/sdkq/next");
		expect(next.map((r) => JSON.parse(r.body).n)).toEqual([2, 3]);
		for (const r of next) expect(r.receivedAtMs).toBeGreaterThan(Math.max(...first));
		expect(await queue.get()).toMatchObject({ name: "sdk-orders", parallelism: 1, lag: 0, paused: false });
		expect((await queue.list()).map((q) => q.name)).toContain("sdk-orders");
		await queue.pause();
		expect(await queue.get()).toMatchObject({ paused: true });
		await queue.resume();
		await queue.delete();
		await expect(queue.get()).rejects.toMatchObject({ status: 404 });
	});
	it("publish with callback and failureCallback: a signed callback per attempt, a failure callback with the dlqId", async () => {
		const receiver = new Receiver({
			currentSigningKey: sundial.qstashKeys.current,
			nextSigningKey: sundial.qstashKeys.next,
		});
		const bodiesAt = async (path: string) => {
			const out: Record<string, unknown>[] = [];
			for (const r of http.received.filter((x) => x.path === path)) {
				const signature = r.headers["upstash-signature"] as string;
				expect(await receiver.verify({ signature, body: r.body, url: `${http.url}${path}` })).toBe(true);
				out.push(JSON.parse(r.body) as Record<string, unknown>);
			}
			return out.sort((a, b) => Number(a.retried) - Number(b.retried));
		};
		let calls = 0;
		http.behaviour("/sdk/cb-dest", () => {
			calls += 1;
			return calls < 2 ? { status: 500, body: "not yet" } : { status: 200, body: "done" };
		});
		const ok = await client.publish({
			url: `${http.url}/sdk/cb-dest`,
			body: "with callbacks",
			retries: 2,
			retryDelay: "100",
			callback: `${http.url}/sdk/cb`,
			failureCallback: `${http.url}/sdk/cb-failed`,
		});
		await http.waitFor(() => http.received.filter((r) => r.path === "/sdk/cb").length >= 2, 15_000);
		const callbacks = await bodiesAt("/sdk/cb");
		expect(callbacks.map((c) => [c.retried, c.status, atob(c.body as string)])).toEqual([
			[0, 500, "not yet"],
			[1, 200, "done"],
		]);
		expect(callbacks[0]).toMatchObject({
			sourceMessageId: ok.messageId,
			maxRetries: 2,
			url: `${http.url}/sdk/cb-dest`,
		});
		expect(atob(callbacks[0]?.sourceBody as string)).toBe("with callbacks");

		http.behaviour("/sdk/cb-dead", () => ({ status: 500 }));
		const dead = await client.publish({
			url: `${http.url}/sdk/cb-dead`,
			body: "doomed",
			retries: 0,
			failureCallback: `${http.url}/sdk/cb-failed`,
		});
		await http.waitFor(() => http.received.some((r) => r.path === "/sdk/cb-failed"), 15_000);
		const [entry] = (await client.dlq.listMessages({ filter: { messageId: dead.messageId } })).messages;
		await sleep(500);
		// One failure callback: the delivered message sent none.
		const failures = await bodiesAt("/sdk/cb-failed");
		expect(failures).toHaveLength(1);
		expect(failures[0]).toMatchObject({ sourceMessageId: dead.messageId, status: 500, dlqId: entry?.dlqId });
		expect(http.received.filter((r) => r.path === "/sdk/cb")).toHaveLength(2);

		const later = await client.publish({
			url: `${http.url}/sdk/cb-later`,
			body: "x",
			delay: 3600,
			callback: `${http.url}/sdk/cb`,
			failureCallback: `${http.url}/sdk/cb-failed`,
		});
		expect(await client.messages.get(later.messageId)).toMatchObject({
			callback: `${http.url}/sdk/cb`,
			failureCallback: `${http.url}/sdk/cb-failed`,
		});
		await client.messages.cancel(later.messageId);
	});

	it("refuses a malformed callback URL with 400, scheduling nothing", async () => {
		await expect(
			client.publish({ url: `${http.url}/sdk/never`, body: "x", callback: "not a url" }),
		).rejects.toMatchObject({ status: 400 });
	});
});
