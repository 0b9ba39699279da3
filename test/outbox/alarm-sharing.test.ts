import { describe, expect, it } from "vitest";
import { received, topicWithWebhook, uniqueName } from "../helpers";
import { eventually, probe } from "./support";

/** The probe's own alarm use is recorded in `alarm_runs` by its alarm() handler, after `await outbox.alarm()`. */
describe("sharing the object's alarm with the user's code", () => {
	it("moves a later alarm of the user's earlier, then sets it back, and the user's alarm still fires at its time", async () => {
		const topic = uniqueName("outbox-restore");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const p = probe(uniqueName("probe"));
		const yoursAtMs = Date.now() + 3_000;
		await p.setAlarmDirectly(yoursAtMs);

		await p.placeOrder("o-1", topic, { id: "m-1", body: 1 });
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0,
		);
		await eventually(
			() => received(`/hook/${topic}`),
			(r) => r.length === 1,
		);
		expect(await p.getAlarm()).toBe(yoursAtMs);

		const runs = await eventually(
			() => p.alarmRuns(),
			(r) => r.length === 2,
			5_000,
		);
		expect(runs[0]?.outboxWorked).toBe(true);
		expect(runs[0]?.atMs).toBeLessThan(yoursAtMs);
		expect(runs[1]?.outboxWorked).toBe(false);
		expect(runs[1]?.atMs).toBeGreaterThanOrEqual(yoursAtMs);
		expect(await p.getAlarm()).toBeNull();
	});

	it("never moves an earlier alarm of the user's later", async () => {
		const topic = uniqueName("outbox-earlier");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const p = probe(uniqueName("probe"));
		await p.configure("down", { minBackoffMs: 5_000, maxBackoffMs: 5_000 });
		await p.placeOrder("o-1", topic, { id: "m-1", body: 1 });
		const waiting = await eventually(
			() => p.stats(),
			(s) => s.topics[0]?.failures === 1,
		);
		const outboxAtMs = waiting.topics[0]?.nextAttemptAtMs as number;
		expect(await p.getAlarm()).toBe(outboxAtMs);

		const yoursAtMs = Date.now() + 1_500;
		await p.setAlarmDirectly(yoursAtMs);
		await p.placeOrder("o-2", topic, { id: "m-2", body: 2 }); // its topic waits until outboxAtMs
		await eventually(
			() => p.stats(),
			(s) => s.pending === 2,
		);
		expect(await p.getAlarm()).toBe(yoursAtMs);

		// Your alarm runs at your time (the outbox has nothing due then), and the outbox's time comes back.
		const runs = await eventually(
			() => p.alarmRuns(),
			(r) => r.length === 2,
			5_000,
		);
		expect(runs[1]).toEqual({ atMs: expect.any(Number), outboxWorked: false });
		expect(runs[1]?.atMs).toBeGreaterThanOrEqual(yoursAtMs);
		expect(await p.getAlarm()).toBe(outboxAtMs);
	});

	it("lets the user set and delete their alarm through the outbox without delaying waiting messages", async () => {
		const topic = uniqueName("outbox-via");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const p = probe(uniqueName("probe"));
		await p.configure("down", { minBackoffMs: 2_000, maxBackoffMs: 2_000 });
		await p.placeOrder("o-1", topic, { id: "m-1", body: 1 });
		await eventually(
			() => p.stats(),
			(s) => s.topics[0]?.failures === 1,
		);

		const yoursAtMs = Date.now() + 60_000;
		await p.setAlarmViaOutbox(yoursAtMs);
		const waiting = await p.alarmAndStats();
		expect(waiting.alarmAtMs).toBe(waiting.stats.topics[0]?.nextAttemptAtMs);
		expect(waiting.alarmAtMs).toBeLessThan(yoursAtMs);

		await p.configure("up");
		await eventually(
			() => p.stats(),
			(s) => s.pending === 0,
			5_000,
		);
		await eventually(
			() => p.getAlarm(),
			(at) => at === yoursAtMs,
		);

		await p.deleteAlarmViaOutbox();
		expect(await p.getAlarm()).toBeNull();

		// With messages waiting, deleting your alarm keeps the outbox's.
		await p.configure("down");
		await p.setAlarmViaOutbox(Date.now() + 60_000);
		await p.placeOrder("o-2", topic, { id: "m-2", body: 2 });
		await eventually(
			() => p.stats(),
			(s) => s.topics[0]?.failures === 1,
		);
		await p.deleteAlarmViaOutbox();
		const kept = await p.alarmAndStats();
		expect(kept.alarmAtMs).toBe(kept.stats.topics[0]?.nextAttemptAtMs);
	});

	it("re-arms a missing alarm on the first touch of a restarted object", async () => {
		const topic = uniqueName("outbox-watchdog");
		await topicWithWebhook(topic, `/hook/${topic}`);
		const name = uniqueName("probe");
		await probe(name).configure("down", { minBackoffMs: 300, maxBackoffMs: 300 });
		await probe(name).placeOrder("o-1", topic, { id: "m-1", body: 1 });
		await eventually(
			() => probe(name).stats(),
			(s) => s.topics[0]?.failures === 1,
		);
		await probe(name).deleteAlarmDirectly();
		await probe(name).configure("up");
		expect(await probe(name).getAlarm()).toBeNull();

		await probe(name).restart();
		await eventually(
			() =>
				probe(name)
					.stats()
					.catch(() => null),
			(s) => s?.pending === 0,
		);
		await eventually(
			() => received(`/hook/${topic}`),
			(r) => r.length === 1,
		);
	});
});
