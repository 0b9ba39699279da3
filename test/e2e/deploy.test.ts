import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/wrangler.js";

const run = promisify(execFile);
const outDir = mkdtempSync(join(tmpdir(), "sundial-deploy-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("wrangler deploy", () => {
	it("bundles the Worker with both Durable Object classes (dry run, no account needed)", async () => {
		const { stdout } = await run(
			join(repoRoot, "node_modules", ".bin", "wrangler"),
			["deploy", "--dry-run", "--outdir", outDir],
			{ cwd: repoRoot, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
		);
		expect(stdout).toContain("--dry-run: exiting now.");
		expect(stdout).toContain("env.TOPIC (TopicObject)");
		expect(stdout).toContain("env.REGISTRY (RegistryObject)");
		const bundle = readFileSync(join(outDir, "index.js"), "utf8");
		expect(bundle).toMatch(/Partition = class extends DurableObject/);
		expect(bundle).toMatch(/TopicObject = class extends Partition/);
		expect(bundle).toMatch(/PublishEntrypoint = class extends WorkerEntrypoint/);
	}, 60_000);
});
