import { env } from "cloudflare:workers";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { escapeLabelValue, type Family, renderExposition } from "../../src/http/exposition";
import { readTopics } from "../../src/http/routes/metrics";
import { api, behave, json, receiverUrl, uniqueName } from "../helpers";
import { scopedToken, scrape, settled } from "../metrics";
import { partitionedTopic, publishBatch } from "../partitions";

/** `GET /metrics` scraped and parsed with parse-prometheus-text-format (issue 15). */

const LE = [
	"0.001",
	"0.002",
	"0.005",
	"0.01",
	"0.025",
	"0.05",
	"0.1",
	"0.25",
	"0.5",
	"1",
	"2.5",
	"5",
	"10",
	"30",
	"60",
	"+Inf",
];

describe("GET /metrics", () => {
	it("reports deliveries, attempts, lateness and lag per subscription, summed over partitions", async () => {
		const topic = uniqueName("prom.a:b");
		const failing = `/prom/bad/${topic}`;
		await behave(failing, { status: 500 });
		await partitionedTopic(topic, 2, { type: "webhook", url: `${receiverUrl()}/prom/ok/${topic}` });
		await json("PUT", `/v1/topics/${topic}/subscriptions/bad`, {
			type: "webhook",
			url: `${receiverUrl()}${failing}`,
			retry: { max_attempts: 3, backoff: "fixed", base: "0s" },
		});
		const n = 12;
		await publishBatch(
			topic,
			Array.from({ length: n }, (_, i) => ({ id: `m${i}`, body: { i } })),
		);
		expect(await settled(topic, "hook")).toMatchObject({ delivered: n });
		await settled(topic, "bad");
		// "m0" again is a duplicate: not published a second time.
		await publishBatch(topic, [
			{ id: "later", body: 0, delay: "1h" },
			{ id: "m0", body: 0 },
		]);
		const late = await json<{ subscriptions: { name: string; sum_ms: number }[] }>(
			"GET",
			`/v1/topics/${topic}/lateness`,
		);

		// A token that reads only this topic sees only this topic.
		const m = await scrape(await scopedToken(["read"], [topic]));
		expect(m.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
		const types = Object.fromEntries(m.families.map((f) => [f.name, f.type]));
		expect(types).toMatchObject({
			sundial_deliveries: "GAUGE",
			sundial_attempts_total: "COUNTER",
			sundial_delivery_lateness_seconds: "HISTOGRAM",
			sundial_oldest_due_lag_seconds: "GAUGE",
			sundial_topic_messages: "GAUGE",
			sundial_published_total: "COUNTER",
			sundial_scrape_topics: "GAUGE",
		});
		for (const f of m.families) expect(f.help, f.name).not.toBe("");
		expect(m.value("sundial_scrape_topics")).toBe(1);
		expect(m.value("sundial_scrape_truncated")).toBe(0);
		const hook = { topic, subscription: "hook" };
		const bad = { topic, subscription: "bad" };
		expect(m.value("sundial_deliveries", { ...hook, state: "delivered" })).toBe(n);
		expect(m.value("sundial_deliveries", { ...hook, state: "scheduled" })).toBe(1);
		expect(m.value("sundial_deliveries", { ...bad, state: "scheduled" })).toBe(1);
		expect(m.value("sundial_deliveries", { ...hook, state: "in_flight" })).toBe(0);
		expect(m.value("sundial_deliveries", { ...bad, state: "dead" })).toBe(n);
		expect(m.value("sundial_attempts_total", { ...hook, outcome: "delivered" })).toBe(n);
		expect(m.value("sundial_attempts_total", { ...hook, outcome: "retry" })).toBe(0);
		expect(m.value("sundial_attempts_total", { ...bad, outcome: "retry" })).toBe(2 * n);
		expect(m.value("sundial_attempts_total", { ...bad, outcome: "dead" })).toBe(n);
		expect(m.value("sundial_topic_messages", { topic })).toBe(n + 1);
		expect(m.value("sundial_published_total", { topic })).toBe(n + 1);
		expect(m.value("sundial_topic_partitions", { topic })).toBe(2);
		expect(m.value("sundial_oldest_due_lag_seconds", hook)).toBe(0);

		// The histogram: cumulative buckets ending in +Inf = count = the attempts measured.
		const buckets = LE.map((le) => m.value("sundial_delivery_lateness_seconds_bucket", { ...hook, le }));
		expect(buckets.at(-1)).toBe(n);
		for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1] as number);
		expect(m.value("sundial_delivery_lateness_seconds_count", hook)).toBe(n);
		expect(m.value("sundial_delivery_lateness_seconds_count", bad)).toBe(3 * n);
		const sumMs = late.body.subscriptions.find((s) => s.name === "hook")?.sum_ms ?? -1;
		expect(m.value("sundial_delivery_lateness_seconds_sum", hook)).toBeCloseTo(sumMs / 1000, 6);
		// The parser's own reading of the histogram has every bucket (it folds the series of a labelled
		// histogram into one, so only the bucket names are checked there).
		const histogram = m.families.find((f) => f.name === "sundial_delivery_lateness_seconds");
		expect(Object.keys(histogram?.metrics[0]?.buckets ?? {}).sort()).toEqual([...LE].sort());
	});

	it("shows a scoped token only its topics and the admin every topic", async () => {
		// Names that sort first: the admin's scrape covers the first 1000 topics of this shared runtime.
		const mine = uniqueName("0prom-mine");
		const other = uniqueName("0prom-other");
		await partitionedTopic(mine, 1, { type: "webhook", url: `${receiverUrl()}/prom/mine`, paused: true });
		await partitionedTopic(other, 1);
		await publishBatch(mine, [{ id: "due", body: 1 }]);
		await new Promise((r) => setTimeout(r, 30));
		const scoped = await scrape(await scopedToken(["read"], [`${mine.slice(0, 10)}*`]));
		expect(scoped.value("sundial_topic_messages", { topic: mine })).toBe(1);
		// Paused: the due delivery waits, and its lag grows.
		expect(scoped.value("sundial_oldest_due_lag_seconds", { topic: mine, subscription: "hook" })).toBeGreaterThan(0);
		expect(scoped.value("sundial_topic_messages", { topic: other })).toBeUndefined();
		expect(scoped.text).not.toContain(other);
		const admin = await scrape();
		expect(admin.value("sundial_topic_messages", { topic: mine })).toBe(1);
		expect(admin.value("sundial_topic_messages", { topic: other })).toBe(0);
		expect(admin.value("sundial_scrape_topics")).toBeGreaterThanOrEqual(2);
	});

	it("answers OpenMetrics when asked, ending in # EOF with counters named without _total", async () => {
		const topic = uniqueName("prom-om");
		await partitionedTopic(topic, 1);
		const token = await scopedToken(["read"], [topic]);
		const m = await scrape(token, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
		expect(m.contentType).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
		const lines = m.text.trimEnd().split("\n");
		expect(lines.at(-1)).toBe("# EOF");
		expect(lines).toContain("# TYPE sundial_attempts counter");
		expect(lines).toContain(`sundial_published_total{topic="${topic}"} 0`);
		expect(lines).toContain(`sundial_attempts_total{topic="${topic}",subscription="hook",outcome="delivered"} 0`);
	});

	it("refuses a request without a token (401) or without the read scope (403), in the /v1 error shape", async () => {
		const anonymous = await api("GET", "/metrics", undefined, { authorization: "" });
		expect(anonymous.status).toBe(401);
		const res = await api("GET", "/metrics", undefined, {
			authorization: `Bearer ${await scopedToken(["publish"], ["*"])}`,
		});
		expect(res.status).toBe(403);
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
		expect((await api("POST", "/metrics")).status).toBe(405);
	});
});

describe("a scrape's call budget", () => {
	it("reads topics a batch at a time until the budget is spent, then says truncated; a missing one costs a call", async () => {
		const names: string[] = [];
		for (let i = 0; i < 10; i++) {
			const topic = uniqueName("budget");
			expect((await json("PUT", `/v1/topics/${topic}`, { partitions: 2 })).status).toBe(201);
			names.push(topic);
		}
		// A batch of 8 topics costs 8 × (1 + 2) calls: past a budget of 5, the rest is left out.
		const small = await readTopics(env as never, names, 5);
		expect(small.topics).toHaveLength(8);
		expect(small).toMatchObject({ truncated: true, failed: 0 });
		const whole = await readTopics(env as never, [...names, uniqueName("gone")], 1000);
		expect(whole.topics).toHaveLength(10);
		expect(whole).toMatchObject({ truncated: false, failed: 0 });
	});
});

describe("exposition text", () => {
	it("escapes label values so a parser reads back exactly what was written", () => {
		const odd = ['quote " inside', "back\\slash", "line\nfeed", 'all \\"\n of them', "plain-name.x:y"];
		const family: Family = {
			name: "sundial_test",
			type: "gauge",
			help: "A help text with a \\ and a\nline feed.",
			samples: odd.map((v, i) => ({ labels: { topic: v, i: String(i) }, value: i + 0.5 })),
		};
		const [parsed] = parsePrometheusTextFormat(renderExposition([family], "prometheus"));
		expect(parsed?.help).toBe("A help text with a \\ and a\nline feed.");
		expect(parsed?.metrics.map((s) => s.labels?.topic)).toEqual(odd);
		expect(parsed?.metrics.map((s) => Number(s.value))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5]);
		expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
	});
});
