import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sundial as Client } from "../../packages/sdk/src/index.js";
import { type FlakyProxy, startFlakyProxy } from "../support/flaky-proxy.js";
import { buildCli, runCli } from "./cli-lib.js";
import { useSundial } from "./fixture.js";

interface Summary {
	lines: number;
	published: number;
	duplicates: number;
	failed: number;
	unsent: number;
	errors: { line: number; code: string }[];
	id_prefix: string;
	elapsed_ms: number;
	per_second: number;
	stopped_by: { status: number; code: string } | null;
}

/** `sundial publish --file`: NDJSON imports at full speed, with progress, retried and resumable. */
describe("sundial publish --file (wrangler dev)", () => {
	let client: Client;
	let proxy: FlakyProxy;
	let env: Record<string, string>;
	const dir = mkdtempSync(join(tmpdir(), "sundial-import-"));
	const ndjson = (name: string, lines: string[]) => {
		const path = join(dir, name);
		writeFileSync(path, `${lines.join("\n")}\n`);
		return path;
	};
	const scheduled = async (topic: string) => (await client.topics.get(topic)).counts.scheduled;
	const topic = async (name: string, partitions = 1) => {
		await client.topics.upsert(name, { partitions });
		await client.subscriptions.upsert(name, "p", { type: "pull" });
	};

	beforeAll(() => buildCli(), 60_000);
	useSundial(
		async (s) => {
			client = new Client({ url: s.worker.url, token: s.token });
			env = { SUNDIAL_URL: s.worker.url, SUNDIAL_TOKEN: s.token, HOME: dir };
			proxy = await startFlakyProxy(s.worker.url);
		},
		{ receiver: false },
	);
	afterAll(async () => {
		await proxy?.close();
		rmSync(dir, { recursive: true, force: true });
	});

	it("imports 100,000 messages in batches of 1000, 4 in flight, showing count, rate and ETA", async () => {
		await topic("import-100k", 4);
		const path = ndjson(
			"100k.ndjson",
			Array.from({ length: 100_000 }, (_, i) => JSON.stringify({ body: { i }, delay: "1h" })),
		);
		const startedMs = Date.now();
		const run = await runCli(["publish", "import-100k", "--file", path, "--progress", "--json"], env);
		const elapsedMs = Date.now() - startedMs;
		console.log(
			`import: 100,000 messages in ${elapsedMs} ms (${Math.round(100_000 / (elapsedMs / 1000))}/s, the whole process)`,
		);
		expect(run.code, run.stderr).toBe(0);
		const summary = run.json<Summary>();
		expect(summary).toMatchObject({ lines: 100_000, published: 100_000, duplicates: 0, failed: 0, unsent: 0 });
		expect(summary.id_prefix).toMatch(/^imp-[0-9a-f]{16}$/);
		const frames = run.stderr.split("\n").filter((l) => l.startsWith("publishing"));
		expect(frames.length).toBeGreaterThan(1);
		expect(frames.at(-1)).toMatch(/100% \| 100000\/100000 \| \d+\/s \| ETA \d+s \| 0 failed/);
		expect(
			frames.some((l) => /\| \d+\/100000 \| [1-9]\d*\/s \| ETA \d+s/.test(l) && !l.includes("100000/100000")),
		).toBe(true);
		expect(await scheduled("import-100k")).toBe(100_000);
		expect((await client.messages.get("import-100k", `${summary.id_prefix}-77777`)).body).toEqual({ i: 77_776 });
	}, 300_000);

	it("reports bad lines by number, publishes the rest, and publishes nothing twice when run again", async () => {
		await topic("import-bad");
		const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ body: i, delay: "1h" }));
		lines[9] = "{not json";
		lines[99] = "[1, 2]";
		lines[999] = JSON.stringify({ body: 1, delay: "-1s" });
		lines.splice(500, 0, "");
		const path = ndjson("bad.ndjson", lines);
		const first = await runCli(["publish", "import-bad", "--file", path, "--json"], env);
		expect(first.code).toBe(1);
		const summary = first.json<Summary>();
		expect(summary).toMatchObject({ lines: 2000, published: 1997, failed: 3 });
		expect(summary.errors.map((e) => [e.line, e.code])).toEqual([
			[10, "invalid_line"],
			[100, "invalid_line"],
			[1001, "invalid_request"],
		]);
		const human = await runCli(["publish", "import-bad", "--file", path], env);
		expect(human.code).toBe(1);
		expect(human.stdout).toContain("0 published, 1997 duplicates, 3 failed of 2000 lines");
		expect(human.stdout).toContain("line 1001");
		expect(await scheduled("import-bad")).toBe(1997);
	}, 120_000);

	it("reads stdin with --file -; the same --id-prefix makes a second run all duplicates", async () => {
		await topic("import-stdin");
		const input = `${Array.from({ length: 500 }, (_, i) => JSON.stringify({ body: i, delay: "1h" })).join("\n")}\n`;
		const args = ["publish", "import-stdin", "--file", "-", "--id-prefix", "job-7", "--json"];
		expect((await runCli(args, env, input)).json()).toMatchObject({ published: 500, id_prefix: "job-7" });
		expect((await runCli(args, env, input)).json()).toMatchObject({ published: 0, duplicates: 500 });
		expect((await client.messages.get("import-stdin", "job-7-500")).body).toBe(499);
		expect(await scheduled("import-stdin")).toBe(500);
	});

	it("retries a failed batch: each message is stored once", async () => {
		await topic("import-retry");
		const path = ndjson(
			"retry.ndjson",
			Array.from({ length: 3000 }, (_, i) => JSON.stringify({ body: i, delay: "1h" })),
		);
		proxy.inject({ status: 503 }, { reset: "before" }, { reset: "after" });
		const run = await runCli(["publish", "import-retry", "--file", path, "--json"], { ...env, SUNDIAL_URL: proxy.url });
		expect(run.code, run.stderr).toBe(0);
		const summary = run.json<Summary>();
		expect(summary.published + summary.duplicates).toBe(3000);
		expect(summary.failed).toBe(0);
		expect(await scheduled("import-retry")).toBe(3000);
	});

	it("stops when a request fails for good, then resumes when run again", async () => {
		await topic("import-resume");
		const path = ndjson(
			"resume.ndjson",
			Array.from({ length: 1000 }, (_, i) => JSON.stringify({ body: i, delay: "1h" })),
		);
		const args = ["publish", "import-resume", "--file", path, "--batch-size", "100", "--concurrency", "1", "--json"];
		proxy.inject({ delayMs: 0 }, { delayMs: 0 }, { delayMs: 0 }, { status: 503 }, { status: 503 }, { status: 503 });
		const stopped = await runCli([...args, "--retries", "2"], { ...env, SUNDIAL_URL: proxy.url });
		expect(stopped.code).toBe(1);
		expect(stopped.json()).toMatchObject({ published: 300, unsent: 700, stopped_by: { status: 503 } });
		expect(await scheduled("import-resume")).toBe(300);
		const resumed = await runCli(args, env);
		expect(resumed.code).toBe(0);
		expect(resumed.json()).toMatchObject({ published: 700, duplicates: 300, unsent: 0, stopped_by: null });
		expect(await scheduled("import-resume")).toBe(1000);
	});
});
