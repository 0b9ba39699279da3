import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { repoRoot } from "./wrangler.js";

/** One row of bench-results.json's summary (bench/summary.ts). */
export interface SmokeRow {
	scenario: string;
	figure: string;
	required: boolean;
	sundial: { median: number; n: number };
	bullmq: { median: number; n: number } | null;
	bullmqHz100: { median: number; n: number } | null;
}

/** What a smoke run wrote to bench-results.json (the parts the tests read). */
export interface SmokeResults {
	facts: Record<string, string>;
	summary: SmokeRow[];
}

/** The smoke run must stay within a minute; it is killed at 90 s so a hang cannot stall the test run. */
export const SMOKE_LIMIT_MS = 60_000;
const KILL_AFTER_MS = 90_000;

/** Runs `node bench/run.ts --smoke --out=dir …args`; resolves with its exit code and output. */
export function runSmoke(out: string, args: string[]): Promise<{ code: number | null; output: string }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [join(repoRoot, "bench", "run.ts"), "--smoke", `--out=${out}`, ...args], {
			cwd: repoRoot,
			stdio: ["ignore", "pipe", "pipe"],
		});
		let output = "";
		child.stdout.on("data", (c: Buffer) => {
			output += c.toString();
		});
		child.stderr.on("data", (c: Buffer) => {
			output += c.toString();
		});
		const timer = setTimeout(() => child.kill("SIGTERM"), KILL_AFTER_MS);
		child.once("error", reject);
		child.once("exit", (code) => {
			clearTimeout(timer);
			resolve({ code, output });
		});
	});
}

/**
 * Checks what every smoke run must show: all six scenarios, Sundial numbers in each required row, and
 * the report files. Returns the results for the caller's checks of the peer columns.
 */
export function expectSundialNumbers(out: string): SmokeResults {
	const results = JSON.parse(readFileSync(join(out, "bench-results.json"), "utf8")) as SmokeResults;
	const scenarios = new Set(results.summary.map((r) => r.scenario));
	expect([...scenarios].sort()).toEqual(["1", "2", "3", "4", "5", "6"]);
	for (const id of scenarios) {
		const rows = results.summary.filter((r) => r.scenario === id && r.required);
		expect(rows.length, `scenario ${id} has figures`).toBeGreaterThan(0);
		for (const row of rows) {
			expect(row.sundial.n, `#${row.scenario} ${row.figure}: Sundial`).toBeGreaterThan(0);
			expect(Number.isFinite(row.sundial.median), `#${row.scenario} ${row.figure}: Sundial`).toBe(true);
		}
	}
	expect(readFileSync(join(out, "BENCHMARKS.md"), "utf8")).toContain("| # | figure |");
	expect(readFileSync(join(out, "bench-lateness.svg"), "utf8")).toMatch(/^<svg /);
	return results;
}
