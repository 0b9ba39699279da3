import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OrdersEnv } from "../../examples/orders/src/env";
import example from "../../examples/orders/src/index";
import { json, received, topicWithWebhook } from "../helpers";
import { eventually } from "./support";

// The example's handler, with this test Worker's bindings: ORDERS and SUNDIAL (to Sundial's
// PublishEntrypoint) come from vitest.outbox.config.ts, REMINDER_TOPIC is "order-reminders".
const ordersEnv = env as unknown as OrdersEnv;
const call = async (method: string, path: string, body?: unknown) => {
	const init: RequestInit = { method };
	if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
	const request = new Request(`http://orders.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
	const res = await example.fetch(request, ordersEnv);
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe("the orders example", () => {
	it("saves an order and its reminder in one transaction; the reminder reaches Sundial's subscriber", async () => {
		const path = "/hook/order-reminders";
		await topicWithWebhook("order-reminders", path);
		const placed = await call("POST", "/orders", { customer: "ada", item: "tea", remind_in: "1s" });
		expect(placed.status).toBe(201);
		const order = placed.body as { id: string; reminder_id: string; created_at: string };
		expect(order).toEqual({
			id: expect.stringMatching(/^order-/),
			customer: "ada",
			item: "tea",
			created_at: expect.any(String),
			reminder_id: `remind-${order.id}`,
		});
		expect(await call("GET", `/orders/${order.id}`)).toEqual({ status: 200, body: order });

		await eventually(
			() => call("GET", "/outbox"),
			(r) => (r.body.stats as { pending: number }).pending === 0,
		);
		const stored = await json<{ deliver_at: string }>(
			"GET",
			`/v1/topics/order-reminders/messages/${order.reminder_id}`,
		);
		expect(stored.status).toBe(200);
		// The order and its reminder are written in the same moment (the clock may tick once in between).
		const remindAfterMs = Date.parse(stored.body.deliver_at) - Date.parse(order.created_at);
		expect(remindAfterMs).toBeGreaterThanOrEqual(1_000);
		expect(remindAfterMs).toBeLessThan(1_100);
		const [delivery] = await eventually(
			() => received(path),
			(r) => r.length === 1,
			5_000,
		);
		expect(JSON.parse(delivery?.body ?? "null")).toEqual({
			type: "order.reminder",
			order: order.id,
			customer: "ada",
			item: "tea",
		});
	});

	it("answers bad input with a JSON error and saves nothing", async () => {
		for (const [remindIn, message] of [
			["soon", 'seconds or a duration like "30m"'],
			[-5, 'seconds or a duration like "30m"'],
			["31d", "at most 30 days"],
		] as const) {
			expect(await call("POST", "/orders", { customer: "ada", item: "tea", remind_in: remindIn })).toEqual({
				status: 400,
				body: {
					error: { code: "invalid_request", message: "invalid order", issues: [{ path: "remind_in", message }] },
				},
			});
		}
		expect((await call("POST", "/orders", { customer: "", item: 5 })).body).toEqual({
			error: {
				code: "invalid_request",
				message: "invalid order",
				issues: [
					{ path: "customer", message: "1–100 printable characters" },
					{ path: "item", message: "1–100 printable characters" },
				],
			},
		});
		expect((await call("POST", "/orders", "{not json")).status).toBe(400);
		expect((await call("GET", "/orders")).status).toBe(405);
		expect((await call("GET", "/orders/order-unknown")).status).toBe(404);
		expect((await call("GET", "/nowhere")).status).toBe(404);
		const state = await call("GET", "/outbox");
		expect(state.body).toEqual({ stats: { pending: 0, dead: 0, topics: [] }, dead: [] });
	});
});
