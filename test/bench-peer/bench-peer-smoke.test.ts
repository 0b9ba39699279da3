import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { redisVersion } from "../../bench/redis.ts";
import { expectSundialNumbers, runSmoke, SMOKE_LIMIT_MS } from "../support/bench-smoke.js";

// `npm run test:bench-peer` (run by .ci/run after `npm test`): the bench's smoke with its peer, BullMQ
// on a local redis-server. Without redis-server this fails; it is never skipped.
describe("npm run bench -- --smoke", () => {
	const out = mkdtempSync(join(tmpdir(), "sundial-bench-peer-smoke-"));
	afterAll(() => rmSync(out, { recursive: true, force: true }));

	it("runs every scenario for both systems within a minute and writes numbers for each", async () => {
		expect(redisVersion(), "redis-server is not installed: apt-get install -y redis-server").not.toBeNull();
		const started = Date.now();
		const { code, output } = await runSmoke(out, []);
		expect(code, output).toBe(0);
		expect(Date.now() - started).toBeLessThan(SMOKE_LIMIT_MS);

		const results = expectSundialNumbers(out);
		for (const row of results.summary.filter((r) => r.required)) {
			const what = `#${row.scenario} ${row.figure}: BullMQ`;
			expect(row.bullmq, what).not.toBeNull();
			expect(row.bullmq?.n, what).toBeGreaterThan(0);
			expect(Number.isFinite(row.bullmq?.median), what).toBe(true);
		}
	}, 120_000);
});
