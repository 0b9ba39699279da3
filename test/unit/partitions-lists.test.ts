import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing";
import { json, seeded, uniqueName } from "../helpers";
import { partitionedTopic, partitionSql, publishBatch } from "../partitions";

const random = seeded;

type Summary = { id: string; deliver_at: string };
type Dead = { message_id: string };

/** Follows next_cursor through a list with a new random page size each time. */
async function pageThrough<T>(path: string, key: string, next: () => number): Promise<{ items: T[]; pages: number }> {
	const items: T[] = [];
	let cursor: string | null = null;
	let pages = 0;
	do {
		const sep = path.includes("?") ? "&" : "?";
		const url = `${path}${sep}limit=${next()}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
		const res = await json<Record<string, unknown>>("GET", url);
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		items.push(...(res.body[key] as T[]));
		cursor = res.body.next_cursor as string | null;
		pages += 1;
		expect(pages).toBeLessThan(1000);
	} while (cursor !== null);
	return { items, pages };
}

/** A day ahead: nothing comes due while the lists are read. */
const BASE_S = Math.floor(Date.now() / 1000) + 86_400;

describe.each([1, 3, 8])("merged lists over %i partition(s)", (partitions) => {
	it("pages through every message once, newest due first, for random data and page sizes", async () => {
		for (const seed of [1, 2, 3]) {
			const rnd = random(seed * 100 + partitions);
			const topic = uniqueName(`plist${partitions}`);
			await partitionedTopic(topic, partitions);
			const count = 40 + Math.floor(rnd() * 80);
			// Few distinct due times: many ties, within and across partitions.
			const items = Array.from({ length: count }, (_, i) => ({
				id: `m-${seed}-${i}`,
				body: i,
				deliver_at: BASE_S + Math.floor(rnd() * 6),
			}));
			await publishBatch(topic, items);
			const { items: listed } = await pageThrough<Summary>(
				`/v1/topics/${topic}/messages`,
				"messages",
				() => 1 + Math.floor(rnd() * 25),
			);
			expect(listed.map((m) => m.id).sort()).toEqual(items.map((m) => m.id).sort());
			for (let i = 1; i < listed.length; i++) {
				expect(Date.parse((listed[i] as Summary).deliver_at)).toBeLessThanOrEqual(
					Date.parse((listed[i - 1] as Summary).deliver_at),
				);
			}
			// A due-time window keeps the same guarantees.
			const from = new Date((BASE_S + 2) * 1000).toISOString();
			const to = new Date((BASE_S + 4) * 1000).toISOString();
			const windowed = await pageThrough<Summary>(
				`/v1/topics/${topic}/messages?from=${from}&to=${to}`,
				"messages",
				() => 1 + Math.floor(rnd() * 10),
			);
			const inWindow = items.filter((m) => m.deliver_at >= BASE_S + 2 && m.deliver_at <= BASE_S + 4);
			expect(windowed.items.map((m) => m.id).sort()).toEqual(inWindow.map((m) => m.id).sort());
		}
	});

	it("pages through every dead delivery once, and redrive / purge reach every partition", async () => {
		const rnd = random(7 + partitions);
		const topic = uniqueName(`pdead${partitions}`);
		await partitionedTopic(topic, partitions);
		const items = Array.from({ length: 90 }, (_, i) => ({ id: `d-${i}`, body: i, delay: "1h" }));
		await publishBatch(topic, items);
		const dead = items.filter(() => rnd() < 0.6).map((m) => m.id);
		await killDeliveries(topic, partitions, dead);

		const deadPath = `/v1/topics/${topic}/subscriptions/hook/dead`;
		const { items: listed } = await pageThrough<Dead>(deadPath, "dead", () => 1 + Math.floor(rnd() * 20));
		expect(listed.map((d) => d.message_id).sort()).toEqual([...dead].sort());
		const sub = await json<{ counts: { dead: number } }>("GET", `/v1/topics/${topic}/subscriptions/hook`);
		expect(sub.body.counts.dead).toBe(dead.length);

		// Redrive by ids across partitions: one id that is not dead refuses the whole call.
		const alive = items.find((m) => !dead.includes(m.id))?.id as string;
		const refused = await json<{ error: { code: string; issues: { message: string }[] } }>(
			"POST",
			`${deadPath}/redrive`,
			{ ids: [...dead.slice(0, 5), alive] },
		);
		expect(refused.status).toBe(409);
		expect(refused.body.error.code).toBe("not_dead");
		expect(refused.body.error.issues).toHaveLength(1);
		expect(
			(await json<{ counts: { dead: number } }>("GET", `/v1/topics/${topic}/subscriptions/hook`)).body.counts.dead,
		).toBe(dead.length);
		const some = dead.slice(0, 5);
		expect((await json("POST", `${deadPath}/redrive`, { ids: some })).body).toEqual({
			redriven: some.length,
			pending: 0,
		});
		const rest = dead.length - some.length;
		expect((await json("POST", `${deadPath}/redrive`, {})).body).toEqual({ redriven: rest, pending: 0 });
		expect((await json<{ dead: Dead[] }>("GET", deadPath)).body.dead).toEqual([]);

		await killDeliveries(topic, partitions, dead);
		expect((await json("DELETE", deadPath)).body).toEqual({ purged: dead.length, pending: 0 });
		expect((await json<{ dead: Dead[] }>("GET", deadPath)).body.dead).toEqual([]);
	});
});

/** Makes the `hook` deliveries of these messages dead, in whichever partition each lives. */
async function killDeliveries(topic: string, partitions: number, ids: string[]): Promise<void> {
	for (let p = 0; p < partitions; p++) {
		const here = ids.filter((id) => partitionOf(id, partitions) === p);
		for (const id of here) {
			await partitionSql(
				topic,
				p,
				`UPDATE deliveries SET state = 'dead', next_at_ms = NULL, last_error = 'test', updated_at_ms = ?
				 WHERE mid = (SELECT mid FROM messages WHERE id = ?)`,
				Date.now() - 1000,
				id,
			);
		}
	}
}
