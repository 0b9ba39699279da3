import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/wrangler.js";

/** One row of bench-results.json's summary (bench/summary.ts). */
interface Row {
	scenario: string;
	figure: string;
	required: boolean;
	sundial: { median: number; n: number };
	bullmq: { median: number; n: number } | null;
	bullmqHz100: { median: number; n: number } | null;
}

/** The smoke run must stay within a minute; it is killed at 90 s so a hang cannot stall `npm test`. */
const SMOKE_LIMIT_MS = 60_000;
const KILL_AFTER_MS = 90_000;

/** Runs `node bench/run.ts --smoke --out=dir`; resolves with its exit code and output. */
function runSmoke(out: string): Promise<{ code: number | null; output: string }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [join(repoRoot, "bench", "run.ts"), "--smoke", `--out=${out}`], {
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

describe("npm run bench -- --smoke", () => {
	const out = mkdtempSync(join(tmpdir(), "sundial-bench-smoke-"));
	afterAll(() => rmSync(out, { recursive: true, force: true }));

	it("runs every scenario for both systems within a minute and writes numbers for each", async () => {
		const started = Date.now();
		const { code, output } = await runSmoke(out);
		expect(code, output).toBe(0);
		expect(Date.now() - started).toBeLessThan(SMOKE_LIMIT_MS);

		const results = JSON.parse(readFileSync(join(out, "bench-results.json"), "utf8")) as { summary: Row[] };
		const scenarios = new Set(results.summary.map((r) => r.scenario));
		expect([...scenarios].sort()).toEqual(["1", "2", "3", "4", "5", "6"]);
		for (const id of scenarios) {
			const rows = results.summary.filter((r) => r.scenario === id && r.required);
			expect(rows.length, `scenario ${id} has figures`).toBeGreaterThan(0);
			for (const row of rows) {
				const what = `#${row.scenario} ${row.figure}`;
				expect(row.sundial.n, `${what}: Sundial`).toBeGreaterThan(0);
				expect(Number.isFinite(row.sundial.median), `${what}: Sundial`).toBe(true);
				expect(row.bullmq, `${what}: BullMQ`).not.toBeNull();
				expect(row.bullmq?.n, `${what}: BullMQ`).toBeGreaterThan(0);
				expect(Number.isFinite(row.bullmq?.median), `${what}: BullMQ`).toBe(true);
			}
		}
		expect(readFileSync(join(out, "BENCHMARKS.md"), "utf8")).toContain("| # | figure |");
		expect(readFileSync(join(out, "bench-lateness.svg"), "utf8")).toMatch(/^<svg /);
	}, 120_000);
});
