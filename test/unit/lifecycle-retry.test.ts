import { describe, expect, it } from "vitest";
import { CLAIM_AHEAD_MS } from "../../src/topic/dispatcher";
import { behave, json, received, receiverUrl, topicWithWebhook, uniqueName } from "../helpers";
import { deliveryRow, getAlarm, makeDue, message, publishParked, runAlarm, subscriptionStats } from "../lifecycle";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Runs the alarm once and returns the delivery row plus the wall-clock window the attempt was judged in. */
async function attempt(topic: string, id: string) {
	const before = Date.now();
	expect(await runAlarm(topic)).toBe(true);
	const after = Date.now();
	return { row: await deliveryRow(topic, id), before, after };
}

/** Asserts the retry was scheduled `waitMs` after the attempt was judged. */
function expectRetryIn(a: { row: { next_at_ms: number | null }; before: number; after: number }, waitMs: number) {
	expect(a.row.next_at_ms).not.toBeNull();
	expect(a.row.next_at_ms).toBeGreaterThanOrEqual(a.before + waitMs);
	expect(a.row.next_at_ms).toBeLessThanOrEqual(a.after + waitMs);
}

describe("retry policy through the alarm", () => {
	it.for([
		{ backoff: "fixed", waits: [1, 1, 1] },
		{ backoff: "linear", waits: [1, 2, 3] },
		{ backoff: "exponential", waits: [1, 2, 4] },
	] as const)("$backoff backoff waits $waits minutes, then the delivery is dead", async ({ backoff, waits }) => {
		const topic = uniqueName(`retry-${backoff}`);
		const path = `/hook/${topic}`;
		await behave(path, { status: 500 });
		await topicWithWebhook(topic, path, {
			retry: { max_attempts: waits.length + 1, backoff, base: "1m", max: "1h", jitter: false },
		});
		await publishParked(topic, [message("m1", Date.now())]);

		for (const [i, minutes] of waits.entries()) {
			if (i > 0) expect(await makeDue(topic)).toBe(1);
			const a = await attempt(topic, "m1");
			expect(a.row).toMatchObject({
				state: "scheduled",
				attempts: i + 1,
				last_status: 500,
				last_error: "HTTP 500",
			});
			expectRetryIn(a, minutes * MINUTE);
			// The alarm waits for the retry (nothing else is pending).
			expect(await getAlarm(topic)).toBe((a.row.next_at_ms ?? 0) - CLAIM_AHEAD_MS);
		}

		expect(await makeDue(topic)).toBe(1);
		const last = await attempt(topic, "m1");
		expect(last.row).toMatchObject({
			state: "dead",
			attempts: waits.length + 1,
			next_at_ms: null,
			last_status: 500,
			last_error: "HTTP 500",
			delivered_at_ms: null,
		});
		const got = await received(path);
		expect(got.map((r) => r.headers["sundial-attempt"])).toEqual(
			Array.from({ length: waits.length + 1 }, (_, i) => String(i + 1)),
		);
		expect(got.map((r) => r.headers["webhook-id"])).toEqual(Array(waits.length + 1).fill("m1"));
		expect(await subscriptionStats(topic)).toMatchObject({
			counts: { scheduled: 0, in_flight: 0, delivered: 0, dead: 1 },
			oldest_due_lag_ms: 0,
		});
	});

	it("caps a growing backoff at retry.max", async () => {
		const topic = uniqueName("retry-cap");
		const path = `/hook/${topic}`;
		await behave(path, { status: 500 });
		await topicWithWebhook(topic, path, {
			retry: { max_attempts: 10, backoff: "linear", base: "1m", max: "150s", jitter: false },
		});
		await publishParked(topic, [message("m1", Date.now())]);
		const expected = [60, 120, 150, 150].map((s) => s * SECOND);
		for (const [i, waitMs] of expected.entries()) {
			if (i > 0) await makeDue(topic);
			const a = await attempt(topic, "m1");
			expect(a.row.attempts).toBe(i + 1);
			expectRetryIn(a, waitMs);
		}
	});

	it("walks 500, 503 + Retry-After, a hang past the timeout, then 200: same webhook-id, attempts counting up", async () => {
		const topic = uniqueName("retry-walk");
		const path = `/hook/${topic}`;
		await behave(path, { status: 500 });
		await topicWithWebhook(topic, path, {
			timeout: "300ms",
			retry: { max_attempts: 6, backoff: "fixed", base: "1m", max: "10m", jitter: false },
		});
		await publishParked(topic, [message("order-1", Date.now(), { order: 1 })]);

		// 1: a 500 waits the fixed backoff.
		let a = await attempt(topic, "order-1");
		expect(a.row).toMatchObject({ state: "scheduled", attempts: 1, last_status: 500, last_error: "HTTP 500" });
		expectRetryIn(a, MINUTE);

		// 2: a 503 with Retry-After (seconds) overrides the backoff.
		await behave(path, { status: 503, headers: { "retry-after": "120" } });
		await makeDue(topic);
		a = await attempt(topic, "order-1");
		expect(a.row).toMatchObject({ state: "scheduled", attempts: 2, last_status: 503, last_error: "HTTP 503" });
		expectRetryIn(a, 120 * SECOND);

		// 3: a Retry-After longer than retry.max is capped at max.
		await behave(path, { status: 503, headers: { "retry-after": "7200" } });
		await makeDue(topic);
		a = await attempt(topic, "order-1");
		expect(a.row).toMatchObject({ state: "scheduled", attempts: 3, last_status: 503 });
		expectRetryIn(a, 10 * MINUTE);

		// 4: no answer within the subscription timeout is a failed attempt; the alarm does not wait for the receiver.
		await behave(path, { status: 200, delayMs: 3000 });
		await makeDue(topic);
		a = await attempt(topic, "order-1");
		expect(a.row).toMatchObject({ state: "scheduled", attempts: 4, last_status: null });
		expect(a.row.last_error).toMatch(/no response within 300 ms/);
		expect(a.after - a.before).toBeGreaterThanOrEqual(300);
		expect(a.after - a.before).toBeLessThan(2500);
		expectRetryIn(a, MINUTE);

		// 5: a 200 delivers.
		await behave(path, { status: 200 });
		await makeDue(topic);
		a = await attempt(topic, "order-1");
		expect(a.row).toMatchObject({
			state: "delivered",
			attempts: 5,
			next_at_ms: null,
			last_status: 200,
			last_error: null,
		});
		expect(a.row.delivered_at_ms).toBeGreaterThanOrEqual(a.before);
		expect(a.row.delivered_at_ms).toBeLessThanOrEqual(a.after);

		const got = await received(path);
		expect(got.map((r) => r.headers["sundial-attempt"])).toEqual(["1", "2", "3", "4", "5"]);
		expect(got.map((r) => r.headers["webhook-id"])).toEqual(Array(5).fill("order-1"));
		expect(got.every((r) => r.body === JSON.stringify({ order: 1 }))).toBe(true);

		const detail = await json<{ deliveries: unknown[] }>("GET", `/v1/topics/${topic}/messages/order-1`);
		expect(detail.body.deliveries).toEqual([
			{
				subscription: "hook",
				state: "delivered",
				attempts: 5,
				next_attempt_at: null,
				last_status: 200,
				last_error: null,
				delivered_at: new Date(a.row.delivered_at_ms as number).toISOString(),
				// Every failed attempt, in order; the delivered one is `delivered_at`.
				history: [
					[1, 500, "HTTP 500"],
					[2, 503, "HTTP 503"],
					[3, 503, "HTTP 503"],
					[4, null, "no response within 300 ms"],
				].map(([attempt, status, error]) => ({
					attempt,
					at: expect.stringMatching(/Z$/),
					outcome: "retry",
					status,
					error,
				})),
			},
		]);
		expect(await subscriptionStats(topic)).toMatchObject({
			counts: { scheduled: 0, in_flight: 0, delivered: 1, dead: 0 },
		});
	});

	it("honours a Retry-After given as an HTTP date", async () => {
		const topic = uniqueName("retry-date");
		const path = `/hook/${topic}`;
		const at = new Date(Date.now() + 5 * MINUTE);
		await behave(path, { status: 429, headers: { "retry-after": at.toUTCString() } });
		await topicWithWebhook(topic, path, {
			retry: { max_attempts: 3, backoff: "fixed", base: "1m", max: "1h", jitter: false },
		});
		await publishParked(topic, [message("m1", Date.now())]);
		const a = await attempt(topic, "m1");
		expect(a.row).toMatchObject({ state: "scheduled", attempts: 1, last_status: 429 });
		// HTTP dates have whole seconds.
		expect(Math.abs((a.row.next_at_ms as number) - at.getTime())).toBeLessThanOrEqual(SECOND);
	});

	it("keeps the last status and error of a delivery that dies: a timeout, a redirect", async () => {
		const topic = uniqueName("retry-dead");
		const hang = `/hook/${topic}/hang`;
		const redirect = `/hook/${topic}/redirect`;
		await behave(hang, { status: 200, delayMs: 3000 });
		await behave(redirect, { status: 302, headers: { location: "https://example.com/" } });
		await topicWithWebhook(topic, hang, { timeout: "200ms", retry: { max_attempts: 1 } });
		const second = await json("PUT", `/v1/topics/${topic}/subscriptions/redirect`, {
			type: "webhook",
			url: `${receiverUrl()}${redirect}`,
			retry: { max_attempts: 1 },
		});
		expect(second.status).toBe(201);
		await publishParked(topic, [message("m1", Date.now())]);
		expect(await runAlarm(topic)).toBe(true);

		expect(await deliveryRow(topic, "m1", "hook")).toMatchObject({
			state: "dead",
			attempts: 1,
			last_status: null,
			last_error: "no response within 200 ms",
		});
		// A redirect is not followed: it is a failed attempt with its status kept.
		expect(await deliveryRow(topic, "m1", "redirect")).toMatchObject({
			state: "dead",
			attempts: 1,
			last_status: 302,
			last_error: "HTTP 302",
		});
		const dead = await json<{ dead: unknown[] }>("GET", `/v1/topics/${topic}/subscriptions/hook/dead`);
		expect(dead.body.dead).toMatchObject([
			{
				message_id: "m1",
				subscription: "hook",
				attempts: 1,
				last_status: null,
				last_error: "no response within 200 ms",
			},
		]);
	});
});
