import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectSundialNumbers, runSmoke, SMOKE_LIMIT_MS } from "../support/bench-smoke.js";

// Sundial alone, so `npm test` needs no redis-server; `npm run test:bench-peer` runs the same smoke
// with BullMQ + Redis (test/bench-peer/).
describe("npm run bench -- --smoke --systems=sundial", () => {
	const out = mkdtempSync(join(tmpdir(), "sundial-bench-smoke-"));
	afterAll(() => rmSync(out, { recursive: true, force: true }));

	it("runs every scenario for Sundial within a minute, writes numbers for each, and starts no Redis", async () => {
		const started = Date.now();
		const { code, output } = await runSmoke(out, ["--systems=sundial"]);
		expect(code, output).toBe(0);
		expect(Date.now() - started).toBeLessThan(SMOKE_LIMIT_MS);

		const results = expectSundialNumbers(out);
		expect(results.facts["redis-server"]).toBe("not run (--systems=sundial)");
		for (const row of results.summary) {
			expect(row.bullmq, `#${row.scenario} ${row.figure}: no BullMQ column`).toBeNull();
			expect(row.bullmqHz100, `#${row.scenario} ${row.figure}: no BullMQ column`).toBeNull();
		}
	}, 120_000);
});
