import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "../helpers";

describe("pull smoke", () => {
	it("receives, acks, long-polls", async () => {
		const topic = uniqueName();
		await api("PUT", `/v1/topics/${topic}`, {});
		const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/p`, { type: "pull", visibility_timeout: "5s" });
		expect(sub.status).toBe(201);
		expect(sub.body.secret).toBeNull();
		await api("POST", `/v1/topics/${topic}/messages`, { body: { a: 1 }, id: "m1" });
		const r = await json<{ messages: { id: string; receipt: string; body: unknown; attempt: number }[] }>(
			"POST",
			`/v1/topics/${topic}/subscriptions/p/receive`,
			{ max: 5 },
		);
		expect(r.body.messages).toMatchObject([{ id: "m1", body: { a: 1 }, attempt: 1 }]);
		const receipt = r.body.messages[0]?.receipt as string;
		const ack = await json("POST", `/v1/topics/${topic}/subscriptions/p/ack`, { receipts: [receipt, "junk"] });
		expect(ack.body).toEqual({ results: { [receipt]: true, junk: false } });
		const again = await json("POST", `/v1/topics/${topic}/subscriptions/p/ack`, { receipts: [receipt] });
		expect(again.body).toEqual({ results: { [receipt]: false } });

		const started = Date.now();
		const poll = json<{ messages: { id: string }[] }>("POST", `/v1/topics/${topic}/subscriptions/p/receive`, {
			wait: "5s",
		});
		await new Promise((r) => setTimeout(r, 200));
		await api("POST", `/v1/topics/${topic}/messages`, { body: 2, id: "m2", delay: "300ms" });
		const got = await poll;
		expect(got.body.messages.map((m) => m.id)).toEqual(["m2"]);
		expect(Date.now() - started).toBeLessThan(2000);
	});
});
