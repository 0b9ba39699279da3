import type { Options } from "./options.ts";
import type { RunRecord } from "./scenarios/common.ts";
import { type Spread, spread } from "./stats.ts";

/** One line of the results table: one figure, both systems, the ratio and the target. */
export interface SummaryRow {
	scenario: string;
	figure: string;
	unit: string;
	/** Which way is better for this figure. */
	better: "lower" | "higher";
	sundial: Spread;
	/** BullMQ on Redis with the default hz (10); null where it has no counterpart or did not run. */
	bullmq: Spread | null;
	/** BullMQ on Redis with hz 100 (lateness figures only). */
	bullmqHz100: Spread | null;
	/** Sundial median ÷ BullMQ median (hz 10, and hz 100). */
	ratio: number | null;
	ratioHz100: number | null;
	target: string;
	/** null = no target for this figure. */
	met: boolean | null;
	/** Counts for "every scenario produced numbers for both systems". */
	required: boolean;
	complete: boolean;
}

const MB = 1024 * 1024;

export function summarize(records: readonly RunRecord[], o: Options): SummaryRow[] {
	const p = o.profile;
	const want = (id: string) => o.only === null || o.only.has(id);
	const values = (scenario: string, system: string, variant: string, key: string) =>
		records
			.filter((r) => r.scenario === scenario && r.system === system && r.variant === variant)
			.map((r) => r.values[key])
			.filter((v): v is number => v !== undefined && Number.isFinite(v));
	const sp = (scenario: string, system: string, variant: string, key: string) =>
		spread(values(scenario, system, variant, key));
	/** BullMQ's spread, or null when it did not run (`--systems=sundial`), so nothing counts as missing. */
	const bsp = (scenario: string, system: string, variant: string, key: string) =>
		o.bullmq ? sp(scenario, system, variant, key) : null;
	const rows: SummaryRow[] = [];
	const row = (
		scenario: string,
		figure: string,
		unit: string,
		better: "lower" | "higher",
		sundial: Spread,
		bullmq: Spread | null,
		bullmqHz100: Spread | null,
		target: string,
		check: ((s: number, ratio: number | null) => boolean) | null,
		required = true,
	) => {
		const ratioOf = (b: Spread | null) => (b && b.n > 0 && b.median !== 0 ? sundial.median / b.median : null);
		const ratio = ratioOf(bullmq);
		const complete = sundial.n > 0 && (bullmq === null || bullmq.n > 0) && (bullmqHz100 === null || bullmqHz100.n > 0);
		const met = check && sundial.n > 0 ? check(sundial.median, ratio) : null;
		rows.push({
			scenario,
			figure,
			unit,
			better,
			sundial,
			bullmq,
			bullmqHz100,
			ratio,
			ratioHz100: ratioOf(bullmqHz100),
			target,
			met,
			required,
			complete,
		});
	};
	const lateTarget = (rate: number, q: "p50" | "p99"): [string, ((s: number) => boolean) | null] => {
		if (rate === 1000 && q === "p50") return ["≤ 2 ms", (s) => s <= 2];
		if (rate === 1000 && q === "p99") return ["≤ 10 ms", (s) => s <= 10];
		if (rate === 3000 && q === "p99") return ["≤ 25 ms", (s) => s <= 25];
		return ["—", null];
	};
	const earlyRow = (scenario: string, system: string) => {
		const perRun = (sc: string, sys: string) =>
			spread(
				records
					.filter((r) => r.scenario === sc && r.system === sys && r.values.early !== undefined)
					.map((r) => (r.values.early ?? 0) + (r.values.missing ?? 0)),
			);
		const s = perRun(scenario, system);
		const b10 = want("1") && o.bullmq ? perRun("1", "bullmq-hz10") : null;
		const b100 = want("1") && o.bullmq ? perRun("1", "bullmq-hz100") : null;
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
			false,
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
		row(
			"3",
			`batch publish, ${p.batchTotal.toLocaleString("en")} in batches of ${p.batchSize}`,
			"msg/s",
			"higher",
			sp("3", "sundial", "", "perSecond"),
			bsp("3", "bullmq-hz10", "", "perSecond"),
			null,
			"≥ 50,000 msg/s and ≥ 2× BullMQ",
			(s, r) => s >= 50_000 && r !== null && r >= 2,
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
		const empty99 = spread(values("1", "sundial", v, "p99")).median;
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
		const emptyPub = spread(values("3", "sundial", "", "perSecond")).median;
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
			const a = values("5", system, "memory", "rssBytes").map((b) => b / MB);
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
	return rows;
}
