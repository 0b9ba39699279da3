import { describe, expect, it } from "vitest";
import { mapBounded } from "../../src/concurrency";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("mapBounded", () => {
	it("keeps input order with at most `limit` calls running at once", async () => {
		let running = 0;
		let peak = 0;
		const out = await mapBounded([5, 1, 4, 2, 3, 6, 7], 3, async (n, i) => {
			running++;
			peak = Math.max(peak, running);
			for (let k = 0; k < n; k++) await tick();
			running--;
			return `${i}:${n * 10}`;
		});
		expect(out).toEqual(["0:50", "1:10", "2:40", "3:20", "4:30", "5:60", "6:70"]);
		expect(peak).toBe(3);
	});

	it("rejects with the first failure and starts no further item", async () => {
		const started: number[] = [];
		const run = mapBounded([0, 1, 2, 3, 4, 5], 2, async (n) => {
			started.push(n);
			await tick();
			if (n === 1) throw new Error("boom");
			return n;
		});
		await expect(run).rejects.toThrow("boom");
		await tick();
		expect(started).toEqual([0, 1, 2]);
	});

	it("answers [] for no items and refuses a limit below 1", async () => {
		expect(await mapBounded([], 6, async () => 1)).toEqual([]);
		await expect(mapBounded([1], 0, async (n) => n)).rejects.toThrow(RangeError);
	});
});
