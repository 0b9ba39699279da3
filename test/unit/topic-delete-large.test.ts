import { describe, expect, it } from "vitest";
import { api, json, receiverUrl, uniqueName } from "../helpers";
import { sql } from "../lifecycle";

const N = 200_000;

describe("deleting a large topic", () => {
	it(`drops ${N.toLocaleString()} messages and deliveries in one call, and the name is reusable`, async () => {
		const topic = uniqueName("big");
		await api("PUT", `/v1/topics/${topic}`, {});
		await api("PUT", `/v1/topics/${topic}/subscriptions/hook`, { type: "webhook", url: `${receiverUrl()}/big` });
		// Seed the backlog straight into SQLite (publishing 200k over HTTP would only test publishing).
		await sql(
			topic,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
			 INSERT INTO messages (id, body, content_type, deliver_at_ms, published_at_ms)
			 SELECT 'm' || i, '{"i":' || i || '}', 'application/json', 4102444800000 + i, 0 FROM n`,
		);
		await sql(
			topic,
			`INSERT INTO deliveries (mid, sid, state, next_at_ms, attempts, lease, updated_at_ms)
			 SELECT mid, (SELECT sid FROM subscriptions), 'scheduled', deliver_at_ms, 0, 0, 0 FROM messages`,
		);
		const before = await json<{ messages: number; counts: { scheduled: number } }>("GET", `/v1/topics/${topic}`);
		expect(before.body.messages).toBe(N);
		expect(before.body.counts.scheduled).toBe(N);

		const started = Date.now();
		const del = await api("DELETE", `/v1/topics/${topic}`);
		expect(del.status).toBe(200);
		expect(Date.now() - started).toBeLessThan(10_000);
		expect((await api("GET", `/v1/topics/${topic}`)).status).toBe(404);

		expect((await api("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
		const fresh = await json<{ messages: number; subscriptions: number }>("GET", `/v1/topics/${topic}`);
		expect(fresh.body).toMatchObject({ messages: 0, subscriptions: 0 });
		const [rows] = await sql<{ n: number }>(topic, "SELECT COUNT(*) AS n FROM deliveries");
		expect(rows?.n).toBe(0);
	}, 60_000);
});
