import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { behave, receiverUrl, TOKEN, uniqueName } from "../helpers";
import { waitFor, waitForReceived } from "../lifecycle";

type Dlq = { dlqId: string; messageId: string; url: string; body: string; responseStatus?: number; maxRetries: number };

function call(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
	return exports.default.fetch(
		new Request(`http://sundial.test${path}`, {
			method,
			headers: { authorization: `Bearer ${TOKEN}`, ...headers },
			body,
		}),
	);
}

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

describe("/v2 dead-letter queue (messages published to a URL)", () => {
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

	it("refuses filters and bulk actions without dlqIds (400, nothing changed), and bad ids", async () => {
		const { entry } = await deadMessage("kept");
		for (const [method, path] of [
			["GET", "/v2/dlq?url=x"],
			["DELETE", "/v2/dlq"],
			["DELETE", `/v2/dlq?dlqIds=${entry.dlqId}&label=x`],
			["POST", "/v2/dlq/retry?responseStatus=500"],
		] as const) {
			const res = await call(method, path);
			expect(res.status, `${method} ${path}`).toBe(400);
			expect(await res.json()).toEqual({ error: expect.any(String) });
		}
		expect((await call("GET", `/v2/dlq/${entry.dlqId}`)).status).toBe(200);
		expect((await call("GET", "/v2/dlq/not-a-dlq-id")).status).toBe(400);
		expect((await call("GET", "/v2/dlq/dlq_AAAA")).status).toBe(404);
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
