import { describe, expect, it } from "vitest";
import { json, uniqueName } from "../helpers";
import {
	ack,
	alarmAt,
	counts,
	delivery,
	expireLease,
	extend,
	makeDueNow,
	nack,
	publish,
	pullTopic,
	receive,
	runAlarm,
} from "../pull";

// A lease that ends un-acked is a failed attempt: back after the backoff, dead at max_attempts.
// The lease end is driven through SQL and the alarm is run by the test.
describe("lease expiry", () => {
	it("schedules an expired lease again after the backoff; the next receive is attempt 2 with a new receipt", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { visibility_timeout: "30s", retry: { backoff: "fixed", base: "5s", max_attempts: 3 } });
		await publish(topic, { id: "m", body: 1 });
		// Spend the publish's alarm (if the platform has not yet): nothing else is pending now.
		await runAlarm(topic);
		expect(await alarmAt(topic)).toBeNull();
		const beforeLease = Date.now();
		const [first] = (await receive(topic)).body.messages;
		if (!first) throw new Error("nothing received");
		const leased = await delivery(topic, "m");
		expect(leased.state).toBe("in_flight");
		expect(leased.next_at_ms).toBeGreaterThanOrEqual(beforeLease + 30_000);
		expect(leased.next_at_ms).toBeLessThanOrEqual(Date.now() + 30_000);
		// Something must wake the object when the lease ends.
		const alarm = await alarmAt(topic);
		expect(alarm).not.toBeNull();
		expect(alarm).toBeLessThanOrEqual(leased.next_at_ms as number);

		expect(await expireLease(topic, "m")).toBe(1);
		const before = Date.now();
		expect(await runAlarm(topic)).toBe(true);
		const after = Date.now();
		const expired = await delivery(topic, "m");
		expect(expired).toMatchObject({ state: "scheduled", attempts: 1 });
		expect(expired.next_at_ms).toBeGreaterThanOrEqual(before + 5000);
		expect(expired.next_at_ms).toBeLessThanOrEqual(after + 5000);
		expect((await receive(topic)).body.messages).toEqual([]);
		expect(await counts(topic)).toEqual({ scheduled: 1, in_flight: 0, delivered: 0, dead: 0 });
		// The expired lease's receipt does nothing, even before the message is leased again.
		expect((await ack(topic, [first.receipt])).body.results).toEqual({ [first.receipt]: false });

		expect(await makeDueNow(topic, "m")).toBe(1);
		const [second] = (await receive(topic)).body.messages;
		expect(second).toMatchObject({ id: "m", attempt: 2 });
		expect(second?.receipt).not.toBe(first.receipt);
		expect((await ack(topic, [first.receipt])).body.results).toEqual({ [first.receipt]: false });
		expect((await nack(topic, [first.receipt], "0s")).body.results).toEqual({ [first.receipt]: false });
		expect(await extend(topic, first.receipt, "1h")).toMatchObject({
			status: 200,
			body: { extended: false, lease_expires_at: null },
		});
		expect(await delivery(topic, "m")).toMatchObject({ state: "in_flight", attempts: 2 });
		const receipt = second?.receipt as string;
		expect((await ack(topic, [receipt])).body.results).toEqual({ [receipt]: true });
		expect(await counts(topic)).toEqual({ scheduled: 0, in_flight: 0, delivered: 1, dead: 0 });
	});

	it("makes a delivery dead when its lease expires at max_attempts, listed in …/dead", async () => {
		const topic = uniqueName("pl");
		await pullTopic(topic, { retry: { backoff: "fixed", base: "0s", max_attempts: 2 } });
		await publish(topic, { id: "m", body: 1 });
		const [one] = (await receive(topic)).body.messages;
		expect(one?.attempt).toBe(1);
		await expireLease(topic, "m");
		expect(await runAlarm(topic)).toBe(true);
		expect(await delivery(topic, "m")).toMatchObject({ state: "scheduled", attempts: 1 });
		const [two] = (await receive(topic)).body.messages;
		expect(two?.attempt).toBe(2);
		await expireLease(topic, "m");
		expect(await runAlarm(topic)).toBe(true);
		expect(await delivery(topic, "m")).toMatchObject({ state: "dead", attempts: 2, next_at_ms: null });
		expect(await counts(topic)).toEqual({ scheduled: 0, in_flight: 0, delivered: 0, dead: 1 });
		expect((await receive(topic)).body.messages).toEqual([]);
		const receipt = two?.receipt as string;
		expect((await ack(topic, [receipt])).body.results).toEqual({ [receipt]: false });
		const dead = await json<{ dead: Record<string, unknown>[] }>("GET", `/v1/topics/${topic}/subscriptions/p/dead`);
		expect(dead.status).toBe(200);
		expect(dead.body.dead).toEqual([
			expect.objectContaining({
				message_id: "m",
				subscription: "p",
				attempts: 2,
				last_error: expect.stringMatching(/lease expired/),
			}),
		]);
	});
});
