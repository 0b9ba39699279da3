import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compareWithBaseline } from "../../bench/baseline.ts";
import type { RunRecord } from "../../bench/scenarios/common.ts";
import { runSmoke, SMOKE_LIMIT_MS } from "../support/bench-smoke.js";

/** `npm run bench -- --baseline=REF` (bench/baseline.ts): the current Sundial against an earlier commit. */

const record = (system: string, scenario: string, variant: string, rep: number, values: Record<string, number>) =>
	({ scenario, system, variant, rep, values, notes: [] }) as RunRecord;

describe("compareWithBaseline", () => {
	it("gives current ÷ baseline per repetition and calls a figure within noise by the stated rule", () => {
		const base = "sundial@abc1234";
		const records = [
			// p50 3 vs 2 ms (ratio 1.5) but within one clock tick; p99 30 vs 10 ms: not within noise.
			...[1, 2, 3].map((rep) => record("sundial", "1", "rate=100", rep, { p50: 3, p99: 30 })),
			...[1, 2, 3].map((rep) => record(base, "1", "rate=100", rep, { p50: 2, p99: 10 })),
			// push rate 0.8 of the baseline's per repetition, below its min: not within noise.
			// CPU per delivery 1.05 of the baseline's: within noise (lower is better, ratio ≤ 1.1).
			...[1, 2, 3].map((rep) => record("sundial", "6", "", rep, { perSecond: 800 + rep, cpuUsPerDelivery: 420 })),
			...[1, 2, 3].map((rep) => record(base, "6", "", rep, { perSecond: 1000 + rep, cpuUsPerDelivery: 400 })),
		];
		const c = compareWithBaseline(records, [100]);
		expect(c?.ref).toBe("abc1234");
		const byFigure = Object.fromEntries((c?.rows ?? []).map((r) => [r.figure, r]));
		expect(byFigure["webhook lateness p50 at 100/s"]).toMatchObject({ met: true, ratio: { median: 1.5, n: 3 } });
		expect(byFigure["webhook lateness p99 at 100/s"]).toMatchObject({ met: false, ratio: { median: 3 } });
		expect(byFigure["webhook push rate"]?.met).toBe(false);
		expect(byFigure["webhook push rate"]?.ratio.median).toBeCloseTo(802 / 1002, 5);
		expect(byFigure["push: workerd CPU per delivery"]).toMatchObject({ met: true, ratio: { median: 1.05, n: 3 } });
		expect(
			compareWithBaseline(
				records.filter((r) => r.system === "sundial"),
				[100],
			),
		).toBeNull();
	});
});

describe("npm run bench -- --smoke --baseline=HEAD", () => {
	const out = mkdtempSync(join(tmpdir(), "sundial-bench-baseline-"));
	afterAll(() => rmSync(out, { recursive: true, force: true }));

	it("refuses a ref that is no commit (exit 2) before starting anything", async () => {
		const { code, output } = await runSmoke(out, ["--systems=sundial", "--only=6", "--baseline=no-such-ref-xyz"]);
		expect(code, output).toBe(2);
		expect(output).toContain('"no-such-ref-xyz" is not a commit');
	});

	it("runs #1 and #6 against both, alternating, and reports the ratios", async () => {
		const started = Date.now();
		const { code, output } = await runSmoke(out, ["--systems=sundial", "--only=1,6", "--baseline=HEAD"]);
		expect(code, output).toBe(0);
		expect(Date.now() - started).toBeLessThan(SMOKE_LIMIT_MS);
		const results = JSON.parse(readFileSync(join(out, "bench-results.json"), "utf8")) as {
			records: RunRecord[];
			baseline: { ref: string; rows: { figure: string; ratio: { n: number } }[] };
		};
		const systems = new Set(results.records.map((r) => r.system));
		expect([...systems].sort()).toEqual(["sundial", "sundial@HEAD"]);
		expect(results.baseline.ref).toBe("HEAD");
		// The CPU figure needs 50 ms of CPU, which a smoke run's small push may not use.
		const rows = results.baseline.rows.filter((r) => r.figure !== "push: workerd CPU per delivery");
		expect(rows.map((r) => r.figure)).toContain("webhook push rate");
		for (const row of rows) expect(row.ratio.n, row.figure).toBe(1);
		expect(readFileSync(join(out, "BENCHMARKS.md"), "utf8")).toContain("Sundial at `HEAD`, in the same run");
	}, 120_000);
});
