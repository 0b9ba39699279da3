import { describe, expect, it } from "vitest";
import { behave, receiverUrl, uniqueName, v2 } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";

type Dlq = { dlqId: string; messageId: string; url: string; body: string; responseStatus?: number; maxRetries: number };

const call = v2;

/** Publishes to a receiver path that answers 500, with no retry: dead after one attempt. Returns the DLQ entry. */
async function deadMessage(body: string): Promise<{ entry: Dlq; path: string }> {
	const path = `/v2dlq/${uniqueName("d")}`;
	await behave(path, { status: 500 });
	const res = await call("POST", `/v2/publish/${receiverUrl()}${path}`, { "upstash-retries": "0" }, body);
	const { messageId } = (await res.json()) as { messageId: string };
	const entry = await waitFor("the DLQ entry", async () => {
		let cursor: string | undefined;
		do {
			const page = (await (await call("GET", `/v2/dlq?count=100${cursor ? `&cursor=${cursor}` : ""}`)).json()) as {
				messages: Dlq[];
				cursor?: string;
			};
			const found = page.messages.find((m) => m.messageId === messageId);
			if (found) return found;
			cursor = page.cursor;
		} while (cursor);
		return undefined;
	});
	return { entry, path };
}

describe("/v2 dead-letter queue", () => {
	it("lists a message whose retries ran out, with its last status; GET by dlqId shows it", async () => {
		const { entry, path } = await deadMessage("lost");
		expect(entry).toMatchObject({ url: `${receiverUrl()}${path}`, body: "lost", responseStatus: 500, maxRetries: 0 });
		expect(entry.dlqId).toMatch(/^dlq_/);
		const one = await call("GET", `/v2/dlq/${entry.dlqId}`);
		expect(await one.json()).toEqual(entry);
	});

	it("retry publishes it again as a new message, due now, and removes the entry", async () => {
		const { entry, path } = await deadMessage("again");
		await behave(path, { status: 200 });
		const res = await call("POST", `/v2/dlq/retry/${entry.dlqId}`);
		const { messageId } = (await res.json()) as { messageId: string };
		expect(messageId).not.toBe(entry.messageId);
		const got = await waitForReceived(path, 2);
		expect(got[1]?.body).toBe("again");
		expect(got[1]?.headers["upstash-message-id"]).toBe(messageId);
		expect((await call("GET", `/v2/dlq/${entry.dlqId}`)).status).toBe(404);
	});

	it("DELETE removes one entry, and the bulk form the ones named by dlqIds", async () => {
		const { entry } = await deadMessage("one");
		expect(await (await call("DELETE", `/v2/dlq/${entry.dlqId}`)).json()).toEqual({ deleted: 1 });
		expect((await call("DELETE", `/v2/dlq/${entry.dlqId}`)).status).toBe(404);
		const a = (await deadMessage("a")).entry;
		const b = (await deadMessage("b")).entry;
		const bulk = await call("DELETE", `/v2/dlq?dlqIds=${a.dlqId}&dlqIds=${b.dlqId}&dlqIds=dlq_unknown`);
		expect(await bulk.json()).toEqual({ deleted: 2 });
		expect((await call("GET", `/v2/dlq/${a.dlqId}`)).status).toBe(404);
	});

	it("keeps the last failed answer: status, headers and body", async () => {
		const path = `/v2dlq/${uniqueName("h")}`;
		await behave(path, { status: 422, headers: { "x-why": "bad input" }, body: '{"reason":"no"}' });
		const res = await call("POST", `/v2/publish/${receiverUrl()}${path}`, { "upstash-retries": "0" }, "h");
		const { messageId } = (await res.json()) as { messageId: string };
		const entry = await waitFor("the entry", async () => {
			const page = (await (await call("GET", `/v2/dlq?messageId=${messageId}`)).json()) as { messages: Dlq[] };
			return page.messages[0];
		});
		expect(entry).toMatchObject({ responseStatus: 422, responseBody: '{"reason":"no"}' });
		expect((entry as unknown as { responseHeader: Record<string, string[]> }).responseHeader["x-why"]).toEqual([
			"bad input",
		]);
	});

	it("refuses unknown parameters and malformed values with 400, changing nothing; unknown ids are 404", async () => {
		const { entry } = await deadMessage("kept");
		for (const [method, path] of [
			["GET", "/v2/dlq?nope=1"],
			["DELETE", "/v2/dlq?unknownFilter=x"],
			["DELETE", `/v2/dlq?dlqIds=${entry.dlqId}&state=FAILED`],
			["POST", "/v2/dlq/retry?responseStatus=abc"],
			["GET", "/v2/dlq?count=0"],
			["GET", "/v2/dlq?cursor=xyz"],
		] as const) {
			const res = await call(method, path);
			expect(res.status, `${method} ${path}`).toBe(400);
			expect(await res.json()).toEqual({ error: expect.any(String) });
		}
		expect((await call("GET", `/v2/dlq/${entry.dlqId}`)).status).toBe(200);
		expect((await call("GET", "/v2/dlq/not-a-dlq-id")).status).toBe(400);
		expect((await call("GET", "/v2/dlq/dlq_AAAA")).status).toBe(404);
	});

	it("filters by url, label and responseStatus; deletes and retries by filter, up to count, with a cursor while more remain", async () => {
		const path = `/v2dlq/${uniqueName("flt")}`;
		await behave(path, { status: 500 });
		const url = `${receiverUrl()}${path}`;
		for (let i = 0; i < 3; i++) {
			await call("POST", `/v2/publish/${url}`, { "upstash-retries": "0", "upstash-label": "bulk" }, `b${i}`);
		}
		const list = async (query: string) =>
			((await (await call("GET", `/v2/dlq?${query}`)).json()) as { messages: Dlq[] }).messages;
		await waitFor("three dead", async () => ((await list("label=bulk")).length === 3 ? true : undefined));
		expect(await list(`url=${encodeURIComponent(url)}&responseStatus=500`)).toHaveLength(3);
		expect(await list(`url=${encodeURIComponent(url)}&responseStatus=404`)).toHaveLength(0);
		expect(await list("label=bulk&label=other")).toHaveLength(3);
		expect(await list("label=other")).toHaveLength(0);
		// Retry one by filter, with overrides: a new message, 2 retries, due in an hour.
		const before = Date.now();
		const retried = (await (
			await call("POST", "/v2/dlq/retry?label=bulk&count=1", { "upstash-retries": "2", "upstash-delay": "1h" })
		).json()) as { responses: { messageId: string }[]; cursor?: string };
		expect(retried.responses).toHaveLength(1);
		expect(retried.cursor).toEqual(expect.any(String));
		const fresh = (await (await call("GET", `/v2/messages/${retried.responses[0]?.messageId}`)).json()) as {
			maxRetries: number;
			notBefore: number;
			url: string;
		};
		expect(fresh).toMatchObject({ maxRetries: 2, url });
		expect(fresh.notBefore).toBeGreaterThanOrEqual(before + 3_600_000);
		// Delete the rest by filter.
		const deleted = (await (await call("DELETE", "/v2/dlq?label=bulk")).json()) as { deleted: number; cursor?: string };
		expect(deleted).toEqual({ deleted: 2 });
		expect(await list("label=bulk")).toHaveLength(0);
	});

	it("lists a URL group endpoint's dead deliveries too, with topicName and endpointName", async () => {
		const group = uniqueName("dg");
		const path = `/v2dlq/${group}`;
		await behave(path, { status: 500 });
		const made = await call(
			"POST",
			`/v2/topics/${group}/endpoints`,
			{ "content-type": "application/json" },
			JSON.stringify({ endpoints: [{ name: "ep1", url: `${receiverUrl()}${path}` }] }),
		);
		expect(made.status).toBe(200);
		const res = await call("POST", `/v2/publish/${group}`, { "upstash-retries": "0" }, "grp");
		const [{ messageId }] = (await res.json()) as [{ messageId: string }];
		const entry = await waitFor("the group entry", async () => {
			const page = (await (await call("GET", `/v2/dlq?topicName=${group}`)).json()) as { messages: Dlq[] };
			return page.messages[0];
		});
		expect(entry).toMatchObject({ messageId, topicName: group, endpointName: "ep1", body: "grp", responseStatus: 500 });
		expect(await (await call("GET", `/v2/dlq/${entry.dlqId}`)).json()).toEqual(entry);
		// Retry sends it to that endpoint again, as a new message.
		await behave(path, { status: 200 });
		const again = (await (await call("POST", `/v2/dlq/retry/${entry.dlqId}`)).json()) as { messageId: string };
		const got = await waitForReceived(path, 2);
		expect(got[1]?.headers["upstash-message-id"]).toBe(again.messageId);
		expect((await call("GET", `/v2/dlq/${entry.dlqId}`)).status).toBe(404);
	});

	it("pages with count and an opaque cursor", async () => {
		await deadMessage("p1");
		await deadMessage("p2");
		const first = (await (await call("GET", "/v2/dlq?count=1")).json()) as { messages: Dlq[]; cursor?: string };
		expect(first.messages).toHaveLength(1);
		expect(first.cursor).toEqual(expect.any(String));
		const second = (await (await call("GET", `/v2/dlq?count=1&cursor=${first.cursor}`)).json()) as { messages: Dlq[] };
		expect(second.messages[0]?.dlqId).not.toBe(first.messages[0]?.dlqId);
	});
});
