import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Sundial as Client, isSundialError, SundialError } from "../../packages/sdk/src/index.js";
import { fetchOpenApi, generateSdkTypes, SDK_TYPES_PATH } from "../../scripts/sdk-types.ts";
import { useSundial } from "./fixture.js";
import { pollUntil, type Sundial } from "./lib.js";

/**
 * Every SDK method once against the real Worker. The SDK's `onRequest` hook records which route
 * templates were reached; the last test checks that together they are every `/v1` route of the
 * Worker's OpenAPI document (so a new route without an SDK method fails here).
 */
describe("sundial-sdk: every method against wrangler dev", () => {
	let sundial: Sundial;
	let client: Client;
	const reached = new Set<string>();

	useSundial(
		(s) => {
			sundial = s;
			client = new Client({ url: s.worker.url, token: s.token, onRequest: (route) => reached.add(route) });
		},
		{ receiver: false },
	);

	it("has types generated from the Worker's current /openapi.json", async () => {
		const generated = await generateSdkTypes(await fetchOpenApi(sundial.worker.url));
		const checkedIn = readFileSync(SDK_TYPES_PATH, "utf8");
		expect(checkedIn === generated, "packages/sdk/src/generated/openapi.ts is stale: run `npm run sdk:types`").toBe(
			true,
		);
	});

	it("topics: upsert, get, list page by page, all, delete", async () => {
		const created = await client.topics.upsert("sdk-topics-a", { retention: "1d" });
		expect(created).toMatchObject({ name: "sdk-topics-a", retention_ms: 86_400_000, partitions: 1 });
		await client.topics.upsert("sdk-topics-b", { partitions: 2 });
		expect((await client.topics.get("sdk-topics-b")).partitions).toBe(2);
		const first = await client.topics.list({ limit: 1 });
		expect(first.items).toHaveLength(1);
		expect(first.next_cursor).not.toBeNull();
		const names: string[] = [];
		for await (const topic of client.topics.all({ limit: 1 })) names.push(topic.name);
		expect(names).toEqual(expect.arrayContaining(["sdk-topics-a", "sdk-topics-b"]));
		const lateness = await client.topics.lateness("sdk-topics-a");
		expect(lateness).toMatchObject({ topic: "sdk-topics-a", subscriptions: [] });
		expect(lateness.buckets_ms).toHaveLength(15);
		expect(await client.topics.delete("sdk-topics-a")).toEqual({ name: "sdk-topics-a", deleted: true });
		const gone = await client.topics.get("sdk-topics-a").catch((e: unknown) => e);
		expect(isSundialError(gone, "topic_not_found") && gone.status).toBe(404);
	});

	it("subscriptions: upsert (the secret once), get, list, delete", async () => {
		await client.topics.upsert("sdk-subs");
		const created = await client.subscriptions.upsert("sdk-subs", "hook", {
			type: "webhook",
			url: "http://127.0.0.1:9/hook",
			timeout: "5s",
			retry: { max_attempts: 3, base: "250ms" },
			rate: { limit: 5, period: "1m" },
		});
		expect(created.secret).toMatch(/^whsec_/);
		expect(created).toMatchObject({ timeout_ms: 5000, rate: { limit: 5, period_ms: 60_000 } });
		expect(created.retry).toMatchObject({ max_attempts: 3, base_ms: 250 });
		const replaced = await client.subscriptions.upsert("sdk-subs", "hook", {
			type: "webhook",
			url: "http://127.0.0.1:9/x",
		});
		expect(replaced.secret).toBeNull();
		expect((await client.subscriptions.get("sdk-subs", "hook")).blocked_keys).toEqual({ keys: [], next_cursor: null });
		expect((await client.subscriptions.list("sdk-subs")).map((s) => s.name)).toEqual(["hook"]);
		expect(await client.subscriptions.delete("sdk-subs", "hook")).toEqual({ name: "hook", deleted: true });
		expect(await client.subscriptions.list("sdk-subs")).toEqual([]);
	});

	it("messages: publish, batches over 1000 items, get, list and all with filters, cancel, deliver now, reschedule", async () => {
		await client.topics.upsert("sdk-msgs");
		await client.subscriptions.upsert("sdk-msgs", "p", { type: "pull" });
		const at = new Date(Date.now() + 3_600_000);
		const one = await client.messages.publish("sdk-msgs", { body: { n: 1 }, id: "m-1", deliver_at: at, key: "k" });
		expect(one).toEqual({ id: "m-1", deliver_at: at.toISOString() });
		expect(await client.messages.publish("sdk-msgs", { body: { n: 1 }, id: "m-1", key: "k" })).toMatchObject({
			duplicate: true,
		});
		// The same id without its key is not a duplicate but a conflict.
		await expect(client.messages.publish("sdk-msgs", { body: { n: 1 }, id: "m-1" })).rejects.toMatchObject({
			status: 409,
			code: "id_conflict",
		});

		const items = Array.from({ length: 1500 }, (_, i) => ({ body: i, id: `b-${i}`, delay: "1h" as const }));
		items[7] = { body: 7, id: "bad id!", delay: "1h" };
		const results = await client.messages.publishBatch("sdk-msgs", items);
		expect(results).toHaveLength(1500);
		expect(results[7]).toMatchObject({ error: { code: "invalid_request" } });
		expect(results.filter((r) => "deliver_at" in r)).toHaveLength(1499);
		expect(results[1499]).toMatchObject({ id: "b-1499" });

		const detail = await client.messages.get("sdk-msgs", "m-1");
		expect(detail).toMatchObject({
			id: "m-1",
			body: { n: 1 },
			key: "k",
			deliveries: [{ subscription: "p", state: "scheduled" }],
		});

		const page = await client.messages.list("sdk-msgs", {
			state: "scheduled",
			limit: 10,
			from: new Date(),
			to: Math.floor(Date.now() / 1000) + 7200,
		});
		expect(page.items).toHaveLength(10);
		let count = 0;
		for await (const _ of client.messages.all("sdk-msgs", { subscription: "p", limit: 1000 })) count++;
		expect(count).toBe(1500);

		expect(await client.messages.cancel("sdk-msgs", "b-0")).toEqual({ id: "b-0", cancelled: 1 });
		const later = new Date(Date.now() + 7_200_000);
		const moved = await client.messages.reschedule("sdk-msgs", "b-1", { deliver_at: later });
		expect(moved).toMatchObject({ id: "b-1", deliver_at: later.toISOString(), scheduled: 1 });
		expect(await client.messages.reschedule("sdk-msgs", "b-2", { delay: "2h" })).toMatchObject({ scheduled: 1 });
		expect(await client.messages.deliverNow("sdk-msgs", "b-3")).toEqual({ id: "b-3", scheduled: 1 });
		const pulled = await client.pull.receive("sdk-msgs", "p", { max: 10, wait: "5s" });
		expect(pulled.map((m) => m.id)).toEqual(["b-3"]);
	});

	it("pull and dead letters: receive, extend, ack, nack to dead, list, all, redrive, purge", async () => {
		await client.topics.upsert("sdk-pull");
		await client.subscriptions.upsert("sdk-pull", "w", { type: "pull", retry: { max_attempts: 1 } });
		await client.messages.publishBatch("sdk-pull", [
			{ body: "a", id: "a" },
			{ body: "b", id: "b" },
		]);
		const got = await client.pull.receive("sdk-pull", "w", { max: 2, wait: "5s", visibility_timeout: "10s" });
		expect(got.map((m) => m.id).sort()).toEqual(["a", "b"]);
		const [a, b] = [got.find((m) => m.id === "a"), got.find((m) => m.id === "b")] as [
			(typeof got)[number],
			(typeof got)[number],
		];
		expect(await client.pull.extend("sdk-pull", "w", a.receipt, "1m")).toMatchObject({ extended: true });
		expect(await client.pull.ack("sdk-pull", "w", [a.receipt])).toEqual({ results: { [a.receipt]: true } });
		expect(await client.pull.nack("sdk-pull", "w", [b.receipt])).toEqual({ results: { [b.receipt]: true } });

		const dead = await client.dead.list("sdk-pull", "w");
		expect(dead.items).toMatchObject([{ message_id: "b", subscription: "w", attempts: 1 }]);
		const all: string[] = [];
		for await (const d of client.dead.all("sdk-pull", "w", { limit: 1 })) all.push(d.message_id);
		expect(all).toEqual(["b"]);
		expect(await client.dead.redrive("sdk-pull", "w", ["b"])).toMatchObject({ redriven: 1 });
		const again = await client.pull.receive("sdk-pull", "w", { wait: "5s" });
		expect(again).toMatchObject([{ id: "b", attempt: 1 }]);
		await client.pull.nack("sdk-pull", "w", [(again[0] as { receipt: string }).receipt], { delay: "1s" });
		expect(await client.dead.redrive("sdk-pull", "w")).toMatchObject({ redriven: 1 });
		const third = await client.pull.receive("sdk-pull", "w", { wait: "5s" });
		await client.pull.nack(
			"sdk-pull",
			"w",
			third.map((m) => m.receipt),
		);
		expect(await client.dead.purge("sdk-pull", "w")).toMatchObject({ purged: 1 });
		expect((await client.dead.list("sdk-pull", "w")).items).toEqual([]);
	});

	it("schedules: upsert, get, list, pause, resume, delete", async () => {
		await client.topics.upsert("sdk-sched");
		const made = await client.schedules.upsert("sdk-sched", "nightly", {
			cron: "30 2 * * *",
			timezone: "Europe/Berlin",
			body: { job: "report" },
		});
		expect(made).toMatchObject({ name: "nightly", paused: false, timezone: "Europe/Berlin" });
		expect(made.next_at).not.toBeNull();
		expect((await client.schedules.get("sdk-sched", "nightly")).body).toEqual({ job: "report" });
		expect((await client.schedules.list("sdk-sched")).map((s) => s.name)).toEqual(["nightly"]);
		expect((await client.schedules.pause("sdk-sched", "nightly")).paused).toBe(true);
		expect((await client.schedules.resume("sdk-sched", "nightly")).paused).toBe(false);
		expect(await client.schedules.delete("sdk-sched", "nightly")).toEqual({ name: "nightly", deleted: true });
	});

	it("key limits and blocked keys: set, get, list, all, blocked keys page and all, delete", async () => {
		await client.topics.upsert("sdk-keys");
		await client.subscriptions.upsert("sdk-keys", "hook", { type: "webhook", url: "http://127.0.0.1:9/hook" });
		const set = await client.keys.set("sdk-keys", "customer-7", { paused: true, rate: { limit: 10, period: "1m" } });
		expect(set).toMatchObject({ key: "customer-7", paused: true, rate: { limit: 10, period_ms: 60_000 } });
		await client.messages.publish("sdk-keys", { body: 1, key: "customer-7", id: "held" });
		expect(await client.keys.get("sdk-keys", "customer-7")).toMatchObject({ waiting: 1 });
		expect((await client.keys.list("sdk-keys")).items.map((k) => k.key)).toEqual(["customer-7"]);
		const keys: string[] = [];
		for await (const k of client.keys.all("sdk-keys")) keys.push(k.key);
		expect(keys).toEqual(["customer-7"]);
		const blocked = await pollUntil(
			async () => {
				const page = await client.subscriptions.blockedKeys("sdk-keys", "hook");
				return page.items.length > 0 ? page : null;
			},
			10_000,
			"the paused key shows as blocked",
		);
		expect(blocked.items).toMatchObject([{ key: "customer-7", blocked_by: "paused", waiting: 1 }]);
		const all: string[] = [];
		for await (const k of client.subscriptions.allBlockedKeys("sdk-keys", "hook")) all.push(k.key);
		expect(all).toEqual(["customer-7"]);
		expect(await client.keys.delete("sdk-keys", "customer-7")).toEqual({ deleted: true });
		await client.messages.cancel("sdk-keys", "held");
	});

	it("throws one SundialError carrying status, code and issues", async () => {
		const bad = await client.messages.publish("sdk-msgs", { body: 1, delay: "-1s" as "1s" }).catch((e: unknown) => e);
		expect(bad).toBeInstanceOf(SundialError);
		expect(bad).toMatchObject({ status: 400, code: "invalid_request", issues: [{ path: "delay" }] });
		const invalid = await client.messages
			.publish("sdk-msgs", { body: 1, deliver_at: new Date(Number.NaN) })
			.catch((e: unknown) => e);
		expect(invalid).toMatchObject({ status: 0, code: "invalid_request", issues: [{ path: "deliver_at" }] });
		const wrongToken = new Client({ url: sundial.worker.url, token: "wrong", retry: false });
		expect(await wrongToken.topics.list().catch((e: unknown) => e)).toMatchObject({
			status: 401,
			code: "unauthorized",
		});
	});

	it("tokens: create (shown once), list, revoke; a scoped token is refused outside its scope", async () => {
		const created = await client.tokens.create({ name: "sdk-reader", scopes: ["read"], expires_in: "1d" });
		expect(created.token).toMatch(/^sdl_/);
		expect((await client.tokens.list()).map((t) => t.id)).toContain(created.id);
		const reader = new Client({ url: sundial.worker.url, token: created.token, retry: false });
		expect(Array.isArray((await reader.topics.list()).items)).toBe(true);
		expect(await reader.topics.upsert("sdk-no").catch((e: unknown) => e)).toMatchObject({
			status: 403,
			code: "forbidden",
		});
		expect(await client.tokens.revoke(created.id)).toEqual({ deleted: true });
		expect(await reader.topics.list().catch((e: unknown) => e)).toMatchObject({ status: 401 });
	});

	it("tail: a topic's live events as an async iterator; a refused tail throws", async () => {
		await client.topics.upsert("sdk-tail");
		await client.subscriptions.upsert("sdk-tail", "p", { type: "pull" });
		const stop = new AbortController();
		const seen: string[] = [];
		const reading = (async () => {
			for await (const event of client.tail("sdk-tail", { signal: stop.signal })) {
				seen.push(event.type);
				if (event.type === "ready") await client.messages.publish("sdk-tail", { body: 1, id: "tail-1" });
				if (event.type === "published") stop.abort();
			}
		})();
		await reading;
		expect(seen).toEqual(["ready", "published"]);
		const refused = client.tail("sdk-no-such-topic");
		expect(await refused.next().catch((e: unknown) => e)).toMatchObject({ code: "tail_refused" });
	});

	it("reaches every /v1 route of the Worker's OpenAPI document (the tests above together)", async () => {
		const doc = await fetchOpenApi(sundial.worker.url);
		const routes = Object.entries(doc.paths ?? {})
			.filter(([path]) => path.startsWith("/v1/"))
			.flatMap(([path, ops]) =>
				Object.keys(ops as object)
					.filter((m) => ["get", "put", "post", "delete", "patch"].includes(m))
					.map((m) => `${m.toUpperCase()} ${path}`),
			);
		expect(routes.length).toBeGreaterThan(30);
		expect(routes.filter((route) => !reached.has(route))).toEqual([]);
	});
});
