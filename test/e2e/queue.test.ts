import { describe, expect, it } from "vitest";
import { useSundial } from "./fixture.js";
import { pollUntil, publishBatch, type Sundial, sleep } from "./lib.js";

const TOPIC = "queue-e2e";
const SUB = "to-queue";
/** What src/example-consumer.ts logs for each message it acks. */
const LINE = /sundial example consumer: (\S+)\/(\S+) message (\S+) attempt (\d+) due (\S+): (.*)$/;

interface Seen {
	topic: string;
	subscription: string;
	attempt: number;
	due: string;
	body: unknown;
}

describe("queue subscription: due messages reach the example consumer (wrangler dev, local queue)", () => {
	let sundial: Sundial;

	// The harness runs wrangler at --log-level log, so the consumer's console.log lines reach its output.
	useSundial(
		(s) => {
			sundial = s;
		},
		{ receiver: false },
	);

	it("sends each due message into EXAMPLE_QUEUE once; the consumer logs it with its body", async () => {
		expect((await sundial.api("PUT", `/v1/topics/${TOPIC}`, {})).status).toBe(201);
		const sub = await sundial.api("PUT", `/v1/topics/${TOPIC}/subscriptions/${SUB}`, {
			type: "queue",
			queue: "EXAMPLE_QUEUE",
		});
		expect(sub.status, JSON.stringify(sub.body)).toBe(201);
		expect(sub.body).toMatchObject({ name: SUB, type: "queue", queue: "EXAMPLE_QUEUE" });

		const items = [
			{ id: "q-1", body: { n: 1, text: "first ☀" }, delay: "200ms" },
			{ id: "q-2", body: [1, 2, 3], delay: "500ms" },
			{ id: "q-3", body: { nested: { ok: true } }, delay: "800ms" },
		];
		const published = await publishBatch(sundial, TOPIC, items);
		const due = new Map(published.map((r) => [r.id, r.deliver_at]));

		// The log buffer keeps only its last lines, so make no API call while waiting (each one logs a line).
		const scan = () => {
			const seen = new Map<string, Seen[]>();
			for (const line of sundial.worker.logs().split("\n")) {
				const m = LINE.exec(line);
				if (!m) continue;
				const [, topic, subscription, id, attempt, dueAt, json] = m as unknown as string[];
				const entry = { topic, subscription, attempt: Number(attempt), due: dueAt, body: JSON.parse(json as string) };
				seen.set(id as string, [...(seen.get(id as string) ?? []), entry as Seen]);
			}
			return seen;
		};
		const firstSeenMs = new Map<string, number>();
		await pollUntil(
			() => {
				for (const id of scan().keys()) if (!firstSeenMs.has(id)) firstSeenMs.set(id, Date.now());
				return items.every((m) => firstSeenMs.has(m.id));
			},
			20_000,
			"a consumer log line for each of q-1, q-2, q-3",
			20,
		).catch((error: unknown) => {
			throw new Error(`${error}\nseen: ${[...firstSeenMs.keys()].join(", ")}\nwrangler log:\n${sundial.worker.logs()}`);
		});
		await sleep(1500); // a second send of any of them would be consumed and logged by now
		const seen = scan();
		expect(sundial.worker.logs(), "wrangler ran the queue consumer").toMatch(/QUEUE sundial-example \d+\/\d+/);

		for (const item of items) {
			const [got, ...more] = seen.get(item.id) ?? [];
			expect(more, `${item.id} consumed once`).toEqual([]);
			expect(got).toMatchObject({ topic: TOPIC, subscription: SUB, attempt: 1, due: due.get(item.id) });
			expect(got?.body).toEqual(item.body);
			// Never before its due time (the consumer batches for up to max_batch_timeout = 1 s after the send).
			const lateMs = (firstSeenMs.get(item.id) as number) - Date.parse(due.get(item.id) as string);
			console.log(`queue: ${item.id} logged by the consumer ${lateMs} ms after its due time (20 ms polling)`);
			expect(lateMs).toBeGreaterThanOrEqual(0);
		}

		for (const item of items) {
			const res = await sundial.api<{ deliveries: Record<string, unknown>[] }>(
				"GET",
				`/v1/topics/${TOPIC}/messages/${item.id}`,
			);
			expect(res.status).toBe(200);
			expect(res.body.deliveries).toHaveLength(1);
			expect(res.body.deliveries[0]).toMatchObject({
				subscription: SUB,
				state: "delivered",
				attempts: 1,
				last_error: null,
			});
		}
		const counts = await sundial.api<{ counts: Record<string, number> }>(
			"GET",
			`/v1/topics/${TOPIC}/subscriptions/${SUB}`,
		);
		expect(counts.body.counts).toMatchObject({ scheduled: 0, in_flight: 0, delivered: 3, dead: 0 });
	});

	it("refuses a queue subscription naming a binding the Worker does not have", async () => {
		const res = await sundial.api<{ error: { code: string; issues?: { path: string }[] } }>(
			"PUT",
			`/v1/topics/${TOPIC}/subscriptions/nowhere`,
			{ type: "queue", queue: "NO_SUCH_QUEUE" },
		);
		expect(res.status).toBe(400);
		expect(res.body.error.code).toBeTypeOf("string");
		expect(JSON.stringify(res.body.error)).toContain("queue");
	});
});
