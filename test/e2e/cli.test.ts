import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../packages/cli/src/program.js";
import { Sundial as Client } from "../../packages/sdk/src/index.js";
import { buildCli, runCli } from "./cli-lib.js";
import { useSundial } from "./fixture.js";
import type { Sundial } from "./lib.js";

/** The `sundial` command as a process against the real Worker: every command, `--json`, exit codes, login. */
describe("sundial CLI (wrangler dev)", () => {
	let sundial: Sundial;
	let client: Client;
	let env: Record<string, string>;
	const home = mkdtempSync(join(tmpdir(), "sundial-cli-home-"));

	beforeAll(() => buildCli(), 60_000);
	useSundial(
		async (s) => {
			sundial = s;
			client = new Client({ url: s.worker.url, token: s.token });
			env = { SUNDIAL_URL: s.worker.url, SUNDIAL_TOKEN: s.token, HOME: home };
		},
		{ receiver: false },
	);
	afterAll(() => rmSync(home, { recursive: true, force: true }));

	it("login checks the token, stores URL and token with mode 0600, and later commands use them", async () => {
		const xdg = join(home, "xdg");
		const bad = await runCli(["login", "--url", sundial.worker.url, "--token", "wrong"], {
			HOME: home,
			XDG_CONFIG_HOME: xdg,
		});
		expect(bad.code).toBe(4);
		expect(() => statSync(join(xdg, "sundial/config.json"))).toThrow();

		const ok = await runCli(["login", "--url", sundial.worker.url, "--token", sundial.token, "--json"], {
			HOME: home,
			XDG_CONFIG_HOME: xdg,
		});
		expect(ok.code).toBe(0);
		const path = join(xdg, "sundial/config.json");
		expect(ok.json()).toEqual({ url: sundial.worker.url, config: path });
		expect(statSync(path).mode & 0o777).toBe(0o600);
		expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ url: sundial.worker.url, token: sundial.token });

		await client.topics.upsert("cli-login");
		const listed = await runCli(["topics", "--json"], { HOME: home, XDG_CONFIG_HOME: xdg });
		expect(listed.code).toBe(0);
		expect(listed.json<{ topics: { name: string }[] }>().topics.map((t) => t.name)).toContain("cli-login");
		// the environment beats the file, a flag beats both
		const viaEnv = await runCli(["topics"], { HOME: home, XDG_CONFIG_HOME: xdg, SUNDIAL_TOKEN: "wrong" });
		expect(viaEnv.code).toBe(4);
		const viaFlag = await runCli(["topics", "--token", sundial.token], {
			HOME: home,
			XDG_CONFIG_HOME: xdg,
			SUNDIAL_TOKEN: "wrong",
		});
		expect(viaFlag.code).toBe(0);
		// ~/.config when XDG_CONFIG_HOME is unset
		expect(
			(await runCli(["login", "--no-verify", "--url", "http://127.0.0.1:1", "--token", "t"], { HOME: home })).code,
		).toBe(0);
		expect(statSync(join(home, ".config/sundial/config.json")).mode & 0o777).toBe(0o600);
	});

	it("answers --help for every command and subcommand", async () => {
		const paths: string[][] = [[]];
		const walk = (command: Command, prefix: string[]) => {
			for (const sub of command.commands) {
				paths.push([...prefix, sub.name()]);
				walk(sub, [...prefix, sub.name()]);
			}
		};
		walk(buildProgram(), []);
		expect(paths.length).toBeGreaterThan(20);
		const queue = [...paths];
		const check = async () => {
			for (let path = queue.shift(); path; path = queue.shift()) {
				const run = await runCli([...path, "--help"], {});
				expect(run.code, path.join(" ")).toBe(0);
				expect(run.stdout, path.join(" ")).toContain(`Usage: sundial ${path.join(" ")}`.trimEnd());
				expect(run.stdout, path.join(" ")).toContain("--json");
			}
		};
		await Promise.all([check(), check(), check(), check()]);
	});

	it("topics and subs: create, ls, get, delete with --json; deletes need --yes", async () => {
		const created = await runCli(
			["topics", "create", "cli-t", "--partitions", "2", "--retention", "1d", "--json"],
			env,
		);
		expect(created.json()).toMatchObject({ name: "cli-t", partitions: 2, retention_ms: 86_400_000 });
		expect((await runCli(["topics", "get", "cli-t", "--json"], env)).json()).toMatchObject({ name: "cli-t" });
		const hook = await runCli(
			[
				"subs",
				"create",
				"cli-t",
				"hook",
				"--endpoint",
				"http://127.0.0.1:9/h",
				"--max-attempts",
				"3",
				"--header",
				"x-env=test",
				"--json",
			],
			env,
		);
		expect(hook.json()).toMatchObject({ type: "webhook", retry: { max_attempts: 3 }, headers: { "x-env": "test" } });
		expect(hook.json<{ secret: string }>().secret).toMatch(/^whsec_/);
		const human = await runCli(
			["subs", "create", "cli-t", "pull", "--type", "pull", "--visibility-timeout", "45s"],
			env,
		);
		expect(human.stdout).toContain("visibility_timeout_ms: 45000");
		const subs = (await runCli(["subs", "ls", "cli-t", "--json"], env)).json<{ subscriptions: { name: string }[] }>();
		expect(subs.subscriptions.map((s) => s.name).sort()).toEqual(["hook", "pull"]);
		expect((await runCli(["subs", "get", "cli-t", "pull", "--json"], env)).json()).toMatchObject({ type: "pull" });
		expect((await runCli(["subs", "delete", "cli-t", "hook"], env)).code).toBe(2);
		expect((await runCli(["subs", "delete", "cli-t", "hook", "--yes", "--json"], env)).json()).toEqual({
			name: "hook",
			deleted: true,
		});
		expect((await runCli(["topics", "delete", "cli-t"], env)).code).toBe(2);
		expect((await runCli(["topics", "delete", "cli-t", "--yes"], env)).code).toBe(0);
		expect((await runCli(["topics", "get", "cli-t"], env)).code).toBe(3);
	});

	it("publish, get, reschedule, cancel; stats", async () => {
		await client.topics.upsert("cli-m");
		await client.subscriptions.upsert("cli-m", "p", { type: "pull" });
		const one = await runCli(
			[
				"publish",
				"cli-m",
				'{"order":42}',
				"--delay",
				"1h",
				"--id",
				"o-42",
				"--key",
				"k",
				"--request-id",
				"r-1",
				"--json",
			],
			env,
		);
		expect(one.code).toBe(0);
		expect(one.json()).toMatchObject({ id: "o-42" });
		const again = await runCli(["publish", "cli-m", '{"order":42}', "--id", "o-42", "--key", "k"], env);
		expect(again.stdout).toContain("duplicate");
		const text = await runCli(
			["publish", "cli-m", "hello there", "--text", "--at", "2027-06-01T02:00:00+02:00", "--id", "t-1", "--json"],
			env,
		);
		expect(text.json()).toEqual({ id: "t-1", deliver_at: "2027-06-01T00:00:00.000Z" });
		const got = (await runCli(["get", "cli-m", "o-42", "--json"], env)).json();
		expect(got).toMatchObject({
			id: "o-42",
			body: { order: 42 },
			key: "k",
			request_id: "r-1",
			deliveries: [{ state: "scheduled" }],
		});
		expect((await client.messages.get("cli-m", "t-1")).body).toBe("hello there");

		const moved = await runCli(["reschedule", "cli-m", "o-42", "--at", "1811808000", "--json"], env);
		expect(moved.json()).toMatchObject({ id: "o-42", deliver_at: "2027-06-01T00:00:00.000Z", scheduled: 1 });
		expect((await runCli(["reschedule", "cli-m", "o-42", "--delay", "2h", "--json"], env)).json()).toMatchObject({
			scheduled: 1,
		});
		expect((await runCli(["cancel", "cli-m", "o-42", "--json"], env)).json()).toEqual({ id: "o-42", cancelled: 1 });
		const stats = (await runCli(["stats", "cli-m", "--json"], env)).json<{
			topic: { counts: Record<string, number> };
			subscriptions: { name: string }[];
		}>();
		expect(stats.topic.counts).toMatchObject({ scheduled: 1, cancelled: 1 });
		expect(stats.subscriptions.map((s) => s.name)).toEqual(["p"]);
		expect((await runCli(["stats", "cli-m"], env)).stdout).toContain("SCHEDULED");
	});

	it("dead ls, redrive, purge", async () => {
		await client.topics.upsert("cli-d");
		await client.subscriptions.upsert("cli-d", "w", { type: "pull", retry: { max_attempts: 1 } });
		await client.messages.publishBatch("cli-d", [
			{ body: 1, id: "d-1" },
			{ body: 2, id: "d-2" },
		]);
		const leased = await client.pull.receive("cli-d", "w", { max: 2, wait: "5s" });
		await client.pull.nack(
			"cli-d",
			"w",
			leased.map((m) => m.receipt),
		);
		const dead = (await runCli(["dead", "ls", "cli-d", "w", "--json"], env)).json<{ dead: { message_id: string }[] }>();
		expect(dead.dead.map((d) => d.message_id).sort()).toEqual(["d-1", "d-2"]);
		expect((await runCli(["dead", "redrive", "cli-d", "w"], env)).code).toBe(2);
		expect((await runCli(["dead", "redrive", "cli-d", "w", "d-1", "--json"], env)).json()).toMatchObject({
			redriven: 1,
		});
		expect((await runCli(["dead", "redrive", "cli-d", "w", "d-1"], env)).code).toBe(1);
		expect((await runCli(["dead", "purge", "cli-d", "w"], env)).code).toBe(2);
		expect((await runCli(["dead", "purge", "cli-d", "w", "--yes", "--json"], env)).json()).toMatchObject({ purged: 1 });
		expect((await runCli(["dead", "ls", "cli-d", "w", "--all", "--json"], env)).json()).toEqual({
			dead: [],
			next_cursor: null,
		});
	});

	it("schedules: set, ls, get, pause, resume, delete", async () => {
		await client.topics.upsert("cli-s");
		const set = await runCli(
			[
				"schedules",
				"set",
				"cli-s",
				"nightly",
				"--cron",
				"30 2 * * *",
				"--timezone",
				"Europe/Berlin",
				"--body",
				'{"job":"report"}',
				"--json",
			],
			env,
		);
		expect(set.json()).toMatchObject({ name: "nightly", timezone: "Europe/Berlin", body: { job: "report" } });
		expect(
			(await runCli(["schedules", "ls", "cli-s", "--json"], env)).json<{ schedules: unknown[] }>().schedules,
		).toHaveLength(1);
		expect((await runCli(["schedules", "get", "cli-s", "nightly", "--json"], env)).json()).toMatchObject({
			paused: false,
		});
		expect((await runCli(["schedules", "pause", "cli-s", "nightly", "--json"], env)).json()).toMatchObject({
			paused: true,
		});
		expect((await runCli(["schedules", "resume", "cli-s", "nightly", "--json"], env)).json()).toMatchObject({
			paused: false,
		});
		expect((await runCli(["schedules", "delete", "cli-s", "nightly", "--yes", "--json"], env)).json()).toEqual({
			name: "nightly",
			deleted: true,
		});
	});

	it("tokens: create (printed once), ls, a scoped token publishes only where allowed, revoke", async () => {
		for (const topic of ["cli-tok-a", "cli-other"]) {
			await client.topics.upsert(topic);
			await client.subscriptions.upsert(topic, "p", { type: "pull" });
		}
		const created = (
			await runCli(
				[
					"tokens",
					"create",
					"cli-publisher",
					"--scope",
					"publish",
					"--topic",
					"cli-tok-*",
					"--expires-in",
					"1d",
					"--json",
				],
				env,
			)
		).json<{ id: string; token: string; prefix: string; scopes: string[]; topics: string[] }>();
		expect(created).toMatchObject({ scopes: ["publish"], topics: ["cli-tok-*"] });
		expect(created.token.startsWith(created.prefix)).toBe(true);
		const listed = (await runCli(["tokens", "ls", "--json"], env)).json<{ tokens: Record<string, unknown>[] }>();
		const row = listed.tokens.find((t) => t.id === created.id);
		expect(row).toMatchObject({ name: "cli-publisher", prefix: created.prefix });
		expect(JSON.stringify(listed)).not.toContain(created.token);
		const scoped = { ...env, SUNDIAL_TOKEN: created.token };
		const allowed = await runCli(["publish", "cli-tok-a", '{"n":1}', "--json"], scoped);
		expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
		expect((await runCli(["publish", "cli-other", '{"n":1}', "--json"], scoped)).code).toBe(4);
		expect((await runCli(["tokens", "ls", "--json"], scoped)).code).toBe(4);
		expect((await runCli(["tokens", "create", "x", "--scope", "everything"], env)).code).toBe(2);
		expect((await runCli(["tokens", "revoke", created.id], env)).code).toBe(2);
		expect((await runCli(["tokens", "revoke", created.id, "--yes", "--json"], env)).json()).toEqual({ deleted: true });
		expect((await runCli(["publish", "cli-tok-a", '{"n":2}', "--json"], scoped)).code).toBe(4);
	});

	it("tail: a delivery seen live, one JSON event per line with --json, ending after --count", async () => {
		await client.topics.upsert("cli-tail");
		await client.subscriptions.upsert("cli-tail", "p", { type: "pull" });
		const tailing = runCli(["tail", "cli-tail", "--types", "published", "--count", "2", "--json"], env);
		// Publish until the tail (connecting meanwhile) has seen two.
		for (let i = 0; i < 50; i++) {
			await client.messages.publish("cli-tail", { body: i, id: `t-${i}` });
			const done = await Promise.race([tailing.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);
			if (done) break;
		}
		const run = await tailing;
		expect(run.code, run.stderr).toBe(0);
		const events = run.stdout
			.trim()
			.split("\n")
			.map((l) => JSON.parse(l) as { type: string; topic: string; message_id: string });
		expect(events).toHaveLength(2);
		expect(events.every((e) => e.type === "published" && e.topic === "cli-tail")).toBe(true);
		expect((await runCli(["tail", "cli-tail", "--count", "0"], env)).code).toBe(2);
	});

	it("exits 1 on API errors, 2 on usage errors, 3 on not found, 4 on auth, 5 on network; --json errors are JSON", async () => {
		await client.topics.upsert("cli-x");
		const conflict = await runCli(["publish", "cli-x", "1", "--json"], env); // no subscriptions: 409
		expect(conflict.code).toBe(1);
		expect(conflict.json()).toMatchObject({ error: { status: 409 } });
		const invalid = await runCli(["topics", "create", "bad name!", "--json"], env);
		expect(invalid.code).toBe(1);
		expect(invalid.json()).toMatchObject({
			error: { status: 400, code: "invalid_request", issues: [{ path: "topic" }] },
		});
		for (const args of [
			["publish", "cli-x", "not json"],
			["publish", "cli-x", "1", "--delay", "soon"],
			["publish", "cli-x", "1", "--at", "tomorrow"],
			["publish", "cli-x"],
			["reschedule", "cli-x", "m"],
			["topics", "create", "t", "--partitions", "99"],
			["nonsense"],
			["get", "cli-x"],
		]) {
			expect((await runCli(args, env)).code, args.join(" ")).toBe(2);
		}
		expect((await runCli(["topics"], { HOME: join(home, "empty") })).code).toBe(2); // no URL anywhere
		const missing = await runCli(["get", "cli-x", "nope", "--json"], env);
		expect(missing.code).toBe(3);
		expect(missing.json()).toMatchObject({ error: { status: 404, code: "message_not_found" } });
		expect((await runCli(["topics", "--json"], { ...env, SUNDIAL_TOKEN: "wrong" })).code).toBe(4);
		const down = await runCli(["topics", "--json"], { ...env, SUNDIAL_URL: "http://127.0.0.1:9" });
		expect(down.code).toBe(5);
		expect(down.json()).toMatchObject({ error: { status: 0, code: "network_error" } });
	});
});
