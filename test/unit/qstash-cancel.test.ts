import { describe, expect, it } from "vitest";
import { receiverUrl, uniqueName, v2 } from "../helpers";

/** Bulk cancel by filter and of everything (QSTASH.md "Messages"); its own file, since "all" reaches every message here. */

const call = v2;

async function publish(destination: string, headers: Record<string, string> = {}): Promise<string> {
	const res = await call("POST", `/v2/publish/${destination}`, { "upstash-delay": "1h", ...headers }, "x");
	expect(res.status).toBe(200);
	const answer = (await res.json()) as { messageId: string } | { messageId: string }[];
	return Array.isArray(answer) ? (answer[0] as { messageId: string }).messageId : answer.messageId;
}

const pending = async (id: string) => (await call("GET", `/v2/messages/${id}`)).status === 200;

async function cancel(query: string): Promise<number> {
	const res = await call("DELETE", `/v2/messages?${query}`);
	expect(res.status, query).toBe(200);
	return ((await res.json()) as { cancelled: number }).cancelled;
}

describe("DELETE /v2/messages by filter", () => {
	it("cancels exactly the pending matches of url, label, host and path, fromDate/toDate and topicName", async () => {
		const base = `${receiverUrl()}/v2cancel/${uniqueName("c")}`;
		const a = await publish(`${base}/a`, { "upstash-label": "red" });
		const b = await publish(`${base}/b`, { "upstash-label": "blue" });
		const c = await publish(`${base}/b`);
		expect(await cancel(`url=${encodeURIComponent(`${base}/a`)}&label=blue`)).toBe(0);
		expect(await cancel(`label=red&label=green`)).toBe(1);
		expect([await pending(a), await pending(b), await pending(c)]).toEqual([false, true, true]);
		const path = new URL(`${base}/b`).pathname;
		expect(await cancel(`host=elsewhere.example&path=${encodeURIComponent(path)}`)).toBe(0);
		expect(await cancel(`toDate=1`)).toBe(0);
		expect(await cancel(`fromDate=${Date.now() - 60_000}&path=${encodeURIComponent(path)}&label=blue`)).toBe(1);
		expect([await pending(b), await pending(c)]).toEqual([false, true]);
		// A URL group's endpoint deliveries, by topicName.
		const group = uniqueName("cg");
		const made = await call(
			"POST",
			`/v2/topics/${group}/endpoints`,
			{ "content-type": "application/json" },
			JSON.stringify({ endpoints: [{ name: "e", url: `${base}/g` }] }),
		);
		expect(made.status).toBe(200);
		const g = await publish(group);
		expect(await cancel(`topicName=${group}`)).toBe(1);
		expect([await pending(g), await pending(c)]).toEqual([false, true]);
		// A queue none of these messages went to: nothing is cancelled.
		expect(await cancel("queueName=q")).toBe(0);
		expect(await pending(c)).toBe(true);
	});

	it("with no ids and no filter cancels every pending message", async () => {
		const base = `${receiverUrl()}/v2cancel/${uniqueName("all")}`;
		const ids = [await publish(`${base}/1`), await publish(`${base}/2`), await publish(`${base}/3`)];
		expect(await cancel("")).toBeGreaterThanOrEqual(3);
		for (const id of ids) expect(await pending(id)).toBe(false);
		expect(await cancel("")).toBe(0);
	});
});
