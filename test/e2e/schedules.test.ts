import { describe, expect, it } from "vitest";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import { addWebhook, byWebhookId, type Sundial } from "./lib.js";

const TOPIC = "cron";
const PATH = "/cron";
const MINUTE_MS = 60_000;

describe("a cron schedule firing, end to end (wrangler dev + real receiver)", () => {
	let sundial: Sundial;
	let receiver: Receiver;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
		const created = await sundial.api("PUT", `/v1/topics/${TOPIC}`, { partitions: 2 });
		if (created.status !== 201) throw new Error(`PUT topic: ${JSON.stringify(created.body)}`);
		await addWebhook(sundial, TOPIC, "hook", `${receiver.url}${PATH}`);
	});

	it("delivers the next minute's firing once, at the minute, with the derived id", async () => {
		const res = await sundial.api<{ next_at: string }>("PUT", `/v1/topics/${TOPIC}/schedules/tick`, {
			cron: "* * * * *",
			body: { tick: true },
		});
		expect(res.status).toBe(201);
		const dueMs = Date.parse(res.body.next_at);
		expect(dueMs % MINUTE_MS).toBe(0);
		const id = `tick.${new Date(dueMs).toISOString().slice(0, 16)}Z`;
		await receiver.waitFor(() => byWebhookId(receiver.received.filter((r) => r.path === PATH)).has(id), 80_000);
		// Pause at once, so the following minute does not fire during the checks.
		expect((await sundial.api("POST", `/v1/topics/${TOPIC}/schedules/tick/pause`)).status).toBe(200);
		const got = byWebhookId(receiver.received.filter((r) => r.path === PATH)).get(id) ?? [];
		expect(got).toHaveLength(1);
		const first = got[0];
		expect(first?.body).toBe(JSON.stringify({ tick: true }));
		// Never before the minute; late by the alarm and one delivery only.
		expect(first?.receivedAtMs).toBeGreaterThanOrEqual(dueMs);
		expect((first?.receivedAtMs ?? 0) - dueMs).toBeLessThan(5_000);
		const schedule = await sundial.api("GET", `/v1/topics/${TOPIC}/schedules/tick`);
		expect(schedule.body).toMatchObject({ last_message_id: id, last_at: new Date(dueMs).toISOString(), paused: true });
	});
});
