import type { Options } from "./options.ts";
import type { RunRecord } from "./scenarios/common.ts";
import { spread } from "./stats.ts";
import { summarizeFlow } from "./summary-flow.ts";
import { summarizePartitions } from "./summary-partitions.ts";
import { RowBuilder, type SummaryRow } from "./summary-rows.ts";

export type { SummaryRow } from "./summary-rows.ts";

const MB = 1024 * 1024;

/** The results table's rows from the run records: issue 6's scenarios, then issue 10's (7 and 8). */
export function summarize(records: readonly RunRecord[], o: Options, partitions = true): SummaryRow[] {
	const p = o.profile;
	const want = (id: string) => o.only === null || o.only.has(id);
	const b = new RowBuilder(records, o.bullmq);
	const values = b.values.bind(b);
	const sp = b.sp.bind(b);
	/** BullMQ's spread, or null when it did not run (`--systems=sundial`), so nothing counts as missing. */
	const bsp = b.bsp.bind(b);
	const row = b.row.bind(b);
	const lateTarget = (rate: number, q: "p50" | "p99"): [string, ((s: number) => boolean) | null] => {
		if (rate === 1000 && q === "p50") return ["≤ 2 ms", (s) => s <= 2];
		if (rate === 1000 && q === "p99") return ["≤ 10 ms", (s) => s <= 10];
		if (rate === 3000 && q === "p99") return ["≤ 25 ms", (s) => s <= 25];
		return ["—", null];
	};
	const earlyRow = (scenario: string, system: string) => {
		const s = b.earlyOrMissing(scenario, system);
		const b10 = want("1") && o.bullmq ? b.earlyOrMissing("1", "bullmq-hz10") : null;
		const b100 = want("1") && o.bullmq ? b.earlyOrMissing("1", "bullmq-hz100") : null;
		row(
			scenario,
			"early + missing arrivals per run (all rates)",
			"count",
			"lower",
			s,
			b10,
			b100,
			"0 (never early, none lost)",
			() => s.max === 0,
			{ required: false },
		);
	};

	for (const scenario of ["1", "2"]) {
		if (!want(scenario)) continue;
		const system = scenario === "1" ? "sundial" : "sundial-pull";
		for (const rate of p.rates) {
			const v = `rate=${rate}`;
			for (const q of ["p50", "p99"] as const) {
				const [target, check] = lateTarget(rate, q);
				const b10 = want("1") ? bsp("1", "bullmq-hz10", v, q) : null;
				const b100 = want("1") ? bsp("1", "bullmq-hz100", v, q) : null;
				row(
					scenario,
					`lateness ${q} at ${rate.toLocaleString("en")}/s`,
					"ms",
					"lower",
					sp(scenario, system, v, q),
					b10,
					b100,
					scenario === "2" && q === "p50" ? "—" : target,
					scenario === "2" && q === "p50" ? null : check,
				);
			}
		}
		earlyRow(scenario, system);
	}
	if (want("3")) {
		const bull = bsp("3", "bullmq-hz10", "", "perSecond");
		row(
			"3",
			`batch publish, ${p.batchTotal.toLocaleString("en")} in batches of ${p.batchSize}`,
			"msg/s",
			"higher",
			sp("3", "sundial", "", "perSecond"),
			bull,
			null,
			"≥ 50,000 msg/s and ≥ 2× BullMQ",
			(s, r) => s >= 50_000 && r !== null && r >= 2,
		);
		row(
			"3",
			"batch publish ÷ BullMQ `addBulk` (medians)",
			"×",
			"higher",
			ratioOfMedians(sp("3", "sundial", "", "perSecond"), bull),
			null,
			null,
			"≥ 2×",
			(s) => s >= 2,
			{ issue10: true, required: false },
		);
	}
	if (want("4")) {
		row(
			"4",
			`single publish, ${p.singleTotal.toLocaleString("en")} requests, ${p.singleInFlight} in flight`,
			"req/s",
			"higher",
			sp("4", "sundial", "", "perSecond"),
			bsp("4", "bullmq-hz10", "", "perSecond"),
			null,
			"≥ 5,000 req/s",
			(s) => s >= 5_000,
		);
		row(
			"4",
			`\`GET /health\` (no auth, no object), same client, ${p.singleInFlight} in flight`,
			"req/s",
			"higher",
			sp("4", "sundial", "", "healthPerSecond"),
			null,
			null,
			"—",
			null,
			{ required: false },
		);
		row(
			"4",
			"single publish ÷ `GET /health` at the same concurrency (per repetition)",
			"×",
			"higher",
			b.ratioPerRep("4", ["sundial", "", "perSecond"], ["sundial", "", "healthPerSecond"]),
			null,
			null,
			"≥ 0.6×",
			(s) => s >= 0.6,
			{ issue10: true, required: false },
		);
	}
	if (want("5")) {
		const rate = p.backlogRate;
		const v = `rate=${rate}`;
		row(
			"5",
			`backlog load, ${p.backlog.toLocaleString("en")} messages 1–24 h out`,
			"msg/s",
			"higher",
			sp("5", "sundial", "load", "perSecond"),
			bsp("5", "bullmq-hz10", "load", "perSecond"),
			null,
			"—",
			null,
		);
		const empty99 = sp("1", "sundial", v, "p99").median;
		for (const q of ["p50", "p99"] as const) {
			const check =
				q === "p99" ? (s: number) => s <= Math.max(10, Number.isFinite(empty99) ? empty99 / 0.8 : 10) : null;
			const target =
				q === "p99"
					? `≤ empty ÷ 0.8 (${Number.isFinite(empty99) ? `${(empty99 / 0.8).toFixed(1)} ms` : "n/a"}) or ≤ 10 ms`
					: "—";
			row(
				"5",
				`with backlog: lateness ${q} at ${rate.toLocaleString("en")}/s`,
				"ms",
				"lower",
				sp("5", "sundial", v, q),
				bsp("5", "bullmq-hz10", v, q),
				null,
				target,
				check,
			);
		}
		const emptyPub = sp("3", "sundial", "", "perSecond").median;
		row(
			"5",
			`with backlog: batch publish, ${p.batchTotal.toLocaleString("en")}`,
			"msg/s",
			"higher",
			sp("5", "sundial", "batch", "perSecond"),
			bsp("5", "bullmq-hz10", "batch", "perSecond"),
			null,
			`≥ 80 % of empty (${Number.isFinite(emptyPub) ? Math.round(emptyPub * 0.8).toLocaleString("en") : "n/a"})`,
			(s) => Number.isFinite(emptyPub) && s >= 0.8 * emptyPub,
		);
		const mem = (system: string) => {
			const a = values("5", system, "memory", "rssBytes").map((bytes) => bytes / MB);
			return spread(a);
		};
		row(
			"5",
			"memory: backlog + its runs, fresh processes (workerd RSS / Redis used_memory_rss)",
			"MB",
			"lower",
			mem("sundial"),
			o.bullmq ? mem("bullmq-hz10") : null,
			null,
			"≤ 250 MB",
			(s) => s <= 250,
		);
	}
	if (want("6")) {
		row(
			"6",
			`webhook push, ${p.pushTotal.toLocaleString("en")} due at once`,
			"deliveries/s",
			"higher",
			sp("6", "sundial", "", "perSecond"),
			bsp("6", "bullmq-hz10", "", "perSecond"),
			null,
			"≥ 3,000/s",
			(s) => s >= 3_000,
		);
		const conc = sp("6", "sundial", "", "maxConcurrent");
		row(
			"6",
			"receiver's max concurrent requests",
			"count",
			"lower",
			conc,
			bsp("6", "bullmq-hz10", "", "maxConcurrent"),
			null,
			"≤ 6 (every run)",
			() => conc.max <= 6,
		);
	}
	if (want("9")) {
		const none = "no BullMQ peer: #9 compares Sundial's `/v1` with its `/v2`";
		for (const rate of p.v2Rates) {
			const v = `rate=${rate}`;
			const at = rate.toLocaleString("en");
			for (const q of ["p50", "p99"] as const) {
				for (const [api, system] of [
					["/v1", "sundial"],
					["/v2", "sundial-v2"],
				] as const) {
					row(
						"9",
						`\`${api}\` webhook lateness ${q} at ${at}/s`,
						"ms",
						"lower",
						sp("9", system, v, q),
						null,
						null,
						"—",
						null,
					);
				}
			}
			row(
				"9",
				`\`/v2\` p50 − \`/v1\` p50 at ${at}/s (per repetition; ${none})`,
				"ms",
				"lower",
				b.diffPerRep("9", ["sundial-v2", v, "p50"], ["sundial", v, "p50"]),
				null,
				null,
				"≤ 1 ms (`/v2` p50 within 1 ms of `/v1`)",
				(s) => s <= 1,
			);
		}
		for (const [api, system] of [
			["/v1", "sundial"],
			["/v2", "sundial-v2"],
		] as const) {
			const lost = b.earlyOrMissing("9", system);
			row(
				"9",
				`\`${api}\`: early + missing arrivals per run (all rates)`,
				"count",
				"lower",
				lost,
				null,
				null,
				"0",
				() => lost.max === 0,
				{
					required: false,
				},
			);
		}
	}
	if (want("10") || want("10i")) summarizeFlow(b, want("10"));
	summarizePartitions(b, o, partitions);
	// Issue 10's rows of #3 next to #3's (sort is stable: each scenario keeps its own order).
	return b.rows.sort((x, y) => Number(x.scenario) - Number(y.scenario));
}

/** One ratio of two medians, as a spread of one value (none when either is missing). */
export function ratioOfMedians(a: { median: number; n: number }, b: { median: number; n: number } | null) {
	return spread(b && a.n > 0 && b.n > 0 && b.median !== 0 ? [a.median / b.median] : []);
}
