import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/wrangler.js";
import { useSundial } from "./fixture.js";
import type { Sundial } from "./lib.js";

const sdkDir = join(repoRoot, "packages/sdk");
const tsc = join(repoRoot, "node_modules/.bin/tsc");

/** What a script in the scratch project prints: what it did with the installed package. */
const SCRIPT = `
import { Sundial, SundialError, verifyWebhook } from "sundial-sdk";
const sundial = new Sundial({ url: process.env.SUNDIAL_URL, token: process.env.SUNDIAL_TOKEN });
await sundial.topics.upsert("packed");
await sundial.subscriptions.upsert("packed", "w", { type: "pull" });
const published = await sundial.messages.publish("packed", { body: { from: "tarball" }, id: "packed-1" });
const [message] = await sundial.pull.receive("packed", "w", { wait: "5s" });
const acked = await sundial.pull.ack("packed", "w", [message.receipt]);
const error = await sundial.topics.get("missing").catch((e) => e);
console.log(JSON.stringify({
  published, body: message.body, acked: acked.results[message.receipt],
  error: { isSundialError: error instanceof SundialError, status: error.status, code: error.code },
  verifyWebhook: typeof verifyWebhook,
}));
`;

/** A TypeScript consumer: must type-check against the package's .d.ts, and must fail to when misused. */
const TYPED = `
import { Sundial, type Duration, type Topic } from "sundial-sdk";
const sundial = new Sundial({ url: "http://127.0.0.1:1", token: "t" });
const delay: Duration = "90s";
export const topic: Promise<Topic> = sundial.topics.get("orders");
export const published = sundial.messages.publish("orders", { body: 1, delay, deliver_at: undefined });
// @ts-expect-error "soon" is not a duration
export const wrong = sundial.messages.publish("orders", { body: 1, delay: "soon" });
`;

/** `npm pack` of the SDK installed into a scratch project, run there against the real Worker. */
describe("sundial-sdk as a packed tarball (wrangler dev)", () => {
	let sundial: Sundial;
	const scratch = mkdtempSync(join(tmpdir(), "sundial-pack-"));

	useSundial(
		(s) => {
			sundial = s;
		},
		{ receiver: false },
	);
	afterAll(() => rmSync(scratch, { recursive: true, force: true }));

	it("packs dist and the README only, installs with its one dependency, runs and type-checks", () => {
		const packed = JSON.parse(
			execFileSync("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: sdkDir, encoding: "utf8" }),
		) as [{ filename: string; files: { path: string }[] }];
		const files = packed[0].files.map((f) => f.path).sort();
		expect(files).toContain("dist/index.js");
		expect(files).toContain("dist/index.d.ts");
		expect(files).toContain("README.md");
		expect(files.filter((f) => !f.startsWith("dist/") && f !== "README.md" && f !== "package.json")).toEqual([]);
		expect(files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toBe(false);

		const project = join(scratch, "project");
		execFileSync("mkdir", ["-p", project]);
		writeFileSync(join(project, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
		execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(scratch, packed[0].filename)], {
			cwd: project,
			stdio: "pipe",
		});
		const installed = readdirSync(join(project, "node_modules")).sort();
		expect(installed).toContain("sundial-sdk");
		expect(installed).toContain("standardwebhooks");

		writeFileSync(join(project, "script.mjs"), SCRIPT);
		const out = execFileSync(process.execPath, ["script.mjs"], {
			cwd: project,
			encoding: "utf8",
			env: { ...process.env, SUNDIAL_URL: sundial.worker.url, SUNDIAL_TOKEN: sundial.token },
		});
		expect(JSON.parse(out)).toEqual({
			published: { id: "packed-1", deliver_at: expect.any(String) },
			body: { from: "tarball" },
			acked: true,
			error: { isSundialError: true, status: 404, code: "topic_not_found" },
			verifyWebhook: "function",
		});

		writeFileSync(join(project, "typed.ts"), TYPED);
		const tscArgs = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"];
		execFileSync(tsc, [...tscArgs, "--target", "es2022", "--lib", "es2023,dom", "typed.ts"], {
			cwd: project,
			stdio: "pipe",
		});
	}, 180_000);
});
