import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { Receiver } from "../support/receiver.js";
import { repoRoot, startWorker, type WorkerProcess } from "../support/wrangler.js";
import { useSundial } from "./fixture.js";
import { createWebhookTopic, pollUntil, type Sundial, sleep, startSundial } from "./lib.js";

const TOPIC = "order-reminders";

interface Order {
	id: string;
	created_at: string;
	reminder_id: string;
}

interface OutboxState {
	stats: { pending: number; dead: number; topics: { topic: string; failures: number; lastError: string | null }[] };
}

describe("the orders example beside Sundial (wrangler dev): orders over HTTP, their reminders at a webhook", () => {
	let sundial: Sundial;
	let receiver: Receiver;
	let example: WorkerProcess;

	let registry: string | undefined;

	useSundial(
		async (s, r) => {
			sundial = s;
			receiver = r as Receiver;
			example = await startWorker({
				persistDir: join(s.persistDir, "orders-example"),
				config: "examples/orders/wrangler.toml",
				vars: { REMINDER_TOPIC: TOPIC, REMINDER_DELAY: "30m" },
			});
		},
		{
			// The example's service binding finds Sundial through wrangler's dev registry (two processes,
			// as `npm start` runs them). A registry of this run's own keeps it from binding to another
			// Sundial on the machine (a developer's `npm start`, another test run).
			start: () => {
				registry = mkdtempSync(join(tmpdir(), "sundial-e2e-registry-"));
				process.env.WRANGLER_REGISTRY_PATH = registry;
				return startSundial();
			},
		},
	);
	afterAll(() => {
		if (registry) rmSync(registry, { recursive: true, force: true });
	});

	const order = async (customer: string, remindIn: string): Promise<Order> => {
		const res = await fetch(`${example.url}/orders`, {
			method: "POST",
			body: JSON.stringify({ customer, item: "tea", remind_in: remindIn }),
		});
		const body = await res.json();
		expect(res.status, JSON.stringify(body)).toBe(201);
		return body as Order;
	};
	const outbox = async () => (await (await fetch(`${example.url}/outbox`)).json()) as OutboxState;

	it("keeps a reminder while its topic is missing, then delivers every reminder once, when due", async () => {
		// Before the topic exists Sundial refuses the send; the reminder waits in the outbox.
		const early = await order("ada", "2s");
		const waiting = await pollUntil(
			async () => {
				const state = await outbox();
				return (state.stats.topics[0]?.failures ?? 0) >= 1 && state;
			},
			15_000,
			"the outbox to have tried and failed once",
		);
		expect(waiting.stats).toMatchObject({ pending: 1, dead: 0, topics: [{ topic: TOPIC }] });
		// Across the two processes RPC keeps only the error's message; the code is read from it.
		expect(waiting.stats.topics[0]?.lastError).toMatch(/^topic_not_found: .*not found/);

		await createWebhookTopic(sundial, TOPIC, "reminders", `${receiver.url}/reminders`);
		const late = await order("bob", "1s");
		await receiver.waitFor((r) => r.filter((x) => x.path === "/reminders").length >= 2, 30_000);
		await sleep(500);

		const got = receiver.received.filter((r) => r.path === "/reminders");
		expect(got.map((r) => r.headers["webhook-id"]).sort()).toEqual([early.reminder_id, late.reminder_id].sort());
		for (const [placed, customer] of [
			[early, "ada"],
			[late, "bob"],
		] as const) {
			const delivery = got.find((r) => r.headers["webhook-id"] === placed.reminder_id);
			expect(JSON.parse(delivery?.body ?? "null")).toEqual({
				type: "order.reminder",
				order: placed.id,
				customer,
				item: "tea",
			});
			const message = await sundial.api<{ deliver_at: string }>(
				"GET",
				`/v1/topics/${TOPIC}/messages/${placed.reminder_id}`,
			);
			const dueMs = Date.parse(placed.created_at) + (customer === "ada" ? 2_000 : 1_000);
			expect(Math.abs(Date.parse(message.body.deliver_at) - dueMs)).toBeLessThan(50);
			expect(delivery?.receivedAtMs ?? 0).toBeGreaterThanOrEqual(Date.parse(message.body.deliver_at));
		}
		expect((await outbox()).stats).toEqual({ pending: 0, dead: 0, topics: [] });
	});
});

describe("the orders example deploys", () => {
	it("bundles with sundial-outbox and binds Sundial's PublishEntrypoint (dry run, no account needed)", async () => {
		const outDir = mkdtempSync(join(tmpdir(), "sundial-orders-deploy-"));
		try {
			const { stdout } = await promisify(execFile)(
				join(repoRoot, "node_modules", ".bin", "wrangler"),
				["deploy", "--dry-run", "--outdir", outDir, "--config", join(repoRoot, "examples", "orders", "wrangler.toml")],
				{ cwd: repoRoot, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
			);
			expect(stdout).toContain("--dry-run: exiting now.");
			expect(stdout).toContain("env.ORDERS (OrdersObject)");
			expect(stdout).toContain("env.SUNDIAL (sundial#PublishEntrypoint)");
			const bundle = readFileSync(join(outDir, "index.js"), "utf8");
			expect(bundle).toMatch(/OrdersObject = class extends DurableObject/);
			expect(bundle).toContain("CREATE TABLE IF NOT EXISTS _sundial_outbox (");
		} finally {
			rmSync(outDir, { recursive: true, force: true });
		}
	}, 60_000);
});
