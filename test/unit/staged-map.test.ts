import { describe, expect, it } from "vitest";
import { StagedMap } from "../../src/topic/staged-map";

describe("StagedMap (flow control's claims in flight beside SQLite)", () => {
	it("keeps a transaction's puts and takes once it committed", () => {
		const m = new StagedMap<number>();
		m.put("a", 1);
		m.put("b", 2);
		m.settle(true);
		expect(m.take("a")).toBe(1);
		m.put("c", 3);
		expect([m.get("a"), m.get("b"), m.get("c")]).toEqual([undefined, 2, 3]);
		m.settle(true);
		expect([m.get("a"), m.get("b"), m.get("c")]).toEqual([undefined, 2, 3]);
	});

	it("drops a rolled back transaction's changes: a take is undone, a put forgotten", () => {
		const m = new StagedMap<number>();
		m.put("a", 1);
		m.settle(true);
		expect(m.take("a")).toBe(1);
		expect(m.take("a")).toBeUndefined();
		m.put("b", 2);
		m.settle(false);
		expect([m.get("a"), m.get("b")]).toEqual([1, undefined]);
	});

	it("takes what was put in the same transaction, and forgets everything on clear", () => {
		const m = new StagedMap<number>();
		m.put("a", 1);
		expect(m.take("a")).toBe(1);
		m.settle(true);
		expect(m.get("a")).toBeUndefined();
		m.put("b", 2);
		m.settle(true);
		m.clear();
		expect(m.get("b")).toBeUndefined();
	});
});
