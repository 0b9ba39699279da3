import { afterEach, describe, expect, it, vi } from "vitest";
import { behave, json, received, receiverUrl, TOKEN, uniqueName } from "../helpers";
import { settled } from "../metrics";

/**
 * Structured logs (src/log.ts): the topic objects run in this test's isolate (the vitest plugin), so
 * a spy on console.log sees their lines.
 */

afterEach(() => {
	vi.restoreAllMocks();
});

describe("structured logs", () => {
	it("logs failed attempts, the delivery going dead and alarm runs as JSON, never bodies, headers or secrets", async () => {
		const lines: unknown[][] = [];
		vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
			lines.push(args);
		});
		const marker = `marker-${crypto.randomUUID()}`;
		const topic = uniqueName("logs");
		const path = `/logs/${topic}`;
		await behave(path, { status: 503 });
		expect((await json("PUT", `/v1/topics/${topic}`, {})).status).toBe(201);
		const sub = await json<{ secret: string }>("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
			type: "webhook",
			url: `${receiverUrl()}${path}`,
			headers: { "x-sub-marker": `${marker}-sub` },
			retry: { max_attempts: 2, backoff: "fixed", base: "0s" },
		});
		expect(sub.body.secret).toMatch(/^whsec_/);
		const published = await json("POST", `/v1/topics/${topic}/messages`, {
			id: "m1",
			body: { secret: `${marker}-body` },
			headers: { "x-marker": `${marker}-header` },
			request_id: `${marker}-rid`,
		});
		expect(published.status).toBe(201);
		expect(await settled(topic, "hook")).toMatchObject({ dead: 1 });
		// The receiver got the body and headers: they were in play, and still stayed out of the logs.
		const got = await received(path);
		expect(got).toHaveLength(2);
		expect(got[0]?.body).toContain(marker);
		expect(got[0]?.headers["x-marker"]).toBe(`${marker}-header`);
		// Every line is one JSON string (objects of earlier test files may still be logging: this runtime
		// is shared; the example queue consumer's lines are no log events). The alarm run's summary comes
		// once its run ends.
		const ours = () =>
			lines
				.filter((args) => !String(args[0]).startsWith("sundial example consumer:"))
				.map((args) => {
					expect(args).toHaveLength(1);
					expect(typeof args[0]).toBe("string");
					return JSON.parse(args[0] as string) as Record<string, unknown>;
				})
				.filter((e) => e.topic === topic);
		const deadline = Date.now() + 5000;
		while (!ours().some((e) => e.event === "alarm_run") && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 20));
		}

		const events = ours();
		expect(events.filter((e) => e.event === "attempt_failed")).toEqual([
			{
				level: "warn",
				event: "attempt_failed",
				topic,
				subscription: "hook",
				message_id: "m1",
				attempt: 1,
				status: 503,
				error: "HTTP 503",
				next_attempt_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
			},
			{
				level: "warn",
				event: "attempt_failed",
				topic,
				subscription: "hook",
				message_id: "m1",
				attempt: 2,
				status: 503,
				error: "HTTP 503",
				next_attempt_at: null,
			},
		]);
		expect(events.filter((e) => e.event === "delivery_dead")).toEqual([
			{
				level: "error",
				event: "delivery_dead",
				topic,
				subscription: "hook",
				message_id: "m1",
				attempts: 2,
				status: 503,
				error: "HTTP 503",
			},
		]);
		const runs = events.filter((e) => e.event === "alarm_run");
		expect(runs.length).toBeGreaterThanOrEqual(1);
		expect(runs[0]).toEqual({
			level: "info",
			event: "alarm_run",
			topic,
			partition: 0,
			attempts: expect.any(Number),
			duration_ms: expect.any(Number),
			carried: 0,
		});
		expect(runs.reduce((n, r) => n + (r.attempts as number), 0)).toBe(2);

		// No line, ours or any other object's, carries the body, a header value, the secret or the token.
		const all = lines.map((args) => String(args[0])).join("\n");
		expect(all).not.toContain(marker);
		expect(all).not.toContain(sub.body.secret);
		expect(all).not.toContain(sub.body.secret.slice("whsec_".length));
		expect(all).not.toContain(TOKEN);
	});

	it("logs nothing for a delivered message but its alarm run", async () => {
		const lines: string[] = [];
		vi.spyOn(console, "log").mockImplementation((line: unknown) => {
			lines.push(String(line));
		});
		const topic = uniqueName("logs-ok");
		await json("PUT", `/v1/topics/${topic}`, {});
		await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, { type: "webhook", url: `${receiverUrl()}/logs/ok` });
		await json("POST", `/v1/topics/${topic}/messages`, { id: "ok", body: 1 });
		expect(await settled(topic, "hook")).toMatchObject({ delivered: 1 });
		const deadline = Date.now() + 5000;
		while (!lines.some((l) => l.includes(topic)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
		const ours = lines
			.filter((l) => l.startsWith("{"))
			.map((l) => JSON.parse(l) as Record<string, unknown>)
			.filter((e) => e.topic === topic);
		expect(ours.map((e) => e.event)).toEqual(["alarm_run"]);
	});
});
