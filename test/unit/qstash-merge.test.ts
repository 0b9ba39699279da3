import { describe, expect, it } from "vitest";
import { mergePages, type SourcedPage } from "../../src/http/v2/scan";
import { collect, noFilter, type QstashFilter, type QstashRow, type ScannedRow } from "../../src/topic/qstash-scan";
import type { SubscriptionRow } from "../../src/topic/store";
import { seeded, v2Options } from "../helpers";

/**
 * The `/v2` lists (dead letters, logs) read each partition with the real `collect` and merge with
 * the real `mergePages`: walking the cursor must give every matching row exactly once, newest
 * first, whatever the partitions, ties in one millisecond, page sizes and scan budgets.
 */

const SUB: SubscriptionRow = {
	sid: 1,
	name: "url",
	config: {
		type: "webhook",
		url: null,
		headers: {},
		timeoutMs: 30_000,
		queue: null,
		visibilityTimeoutMs: 30_000,
		retry: { maxAttempts: 3, backoff: "exponential", initialDelayMs: 1000, maxDelayMs: 60_000 },
		paused: false,
	},
	secret: "s",
	createdAtMs: 0,
	updatedAtMs: 0,
} as unknown as SubscriptionRow;
const SUBS = new Map([[1, SUB]]);

const FILTER: QstashFilter = { ...noFilter(), labels: ["keep"] };

const options = (label: string) => JSON.stringify(v2Options("https://a.example/h", [label]));

type Row = ScannedRow & { keep: boolean };

function partitionRows(random: () => number, n: number, spanMs: number, startMid: number): Row[] {
	return Array.from({ length: n }, (_, i) => {
		const keep = random() < 0.4;
		return {
			at_ms: 1_000 + Math.floor(random() * spanMs),
			mid: startMid + i,
			sid: 1,
			id: `m${startMid + i}`,
			options: options(keep ? "keep" : "drop"),
			published_at_ms: 0,
			key: null,
			status: null,
			error: null,
			keep,
		};
	}).sort((a, b) => b.at_ms - a.at_ms || b.mid - a.mid);
}

const kindOf = () => ({ state: "FAILED", nextAtMs: null });

describe("merged /v2 pages over partitions", () => {
	for (const consumes of [false, true]) {
		for (const partitions of [1, 3, 8]) {
			for (const seed of [1, 2, 3, 4]) {
				const what = consumes ? "each match taken once, at most count per page" : "each match once, newest first";
				it(`${partitions} partition(s), seed ${seed}: ${what}`, () => {
					const random = seeded(seed * 100 + partitions);
					const spanMs = [3, 40, 400][seed % 3] as number;
					const data = Array.from({ length: partitions }, (_, p) =>
						partitionRows(random, Math.floor(random() * 120), spanMs, p * 10_000),
					);
					const expected = data
						.flat()
						.filter((r) => r.keep)
						.map((r) => r.id);
					const count = 1 + Math.floor(random() * 12);
					const budget = 5 + Math.floor(random() * 60);
					const seen: string[] = [];
					let cursor: number | null = null;
					for (let round = 0; round < 10_000; round++) {
						const pages: SourcedPage[] = data.map((rows, p) => ({
							topic: "~qstash",
							partition: p,
							page: collect(
								rows.filter((r) => cursor === null || r.at_ms < cursor),
								SUBS,
								FILTER,
								count,
								kindOf,
								budget,
							),
						}));
						const { rows, next } = mergePages(pages, count, consumes);
						for (let i = 1; i < rows.length; i++) {
							expect((rows[i - 1] as QstashRow).atMs).toBeGreaterThanOrEqual((rows[i] as QstashRow).atMs);
						}
						if (consumes) {
							// A bulk action: never more than asked; what it took is gone from its partition.
							expect(rows.length).toBeLessThanOrEqual(count);
							const taken = new Set(rows.map((r) => r.id));
							for (const [p, list] of data.entries()) data[p] = list.filter((r) => !taken.has(r.id));
						} else if (rows.length > count) {
							// A page holds at most `count` rows, unless one millisecond alone has more.
							expect(new Set(rows.map((r) => r.atMs)).size).toBe(1);
						}
						seen.push(...rows.map((r) => r.id));
						// After the first, a page is empty only when a partition's scan budget went to non-matches
						// (never an empty last page after a full one).
						if (rows.length === 0 && round > 0) expect(pages.some((p) => p.page.floorMs !== null)).toBe(true);
						if (next === null) break;
						expect(cursor === null || (consumes ? next <= cursor : next < cursor)).toBe(true);
						cursor = next;
					}
					expect([...seen].sort()).toEqual([...expected].sort());
					expect(new Set(seen).size).toBe(seen.length);
				});
			}
		}
	}
});
