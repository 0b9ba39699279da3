import { execFileSync } from "node:child_process";
import { repoRoot } from "../test/support/wrangler.ts";
import { cell, num } from "./report-format.ts";
import type { Baseline, RunRecord, Services } from "./scenarios/common.ts";
import { type Spread, spread } from "./stats.ts";
import { type Runtime, startSundial } from "./sundial.ts";

/**
 * `--baseline=REF` (issue 12: "the cost of the machinery when unused"): Sundial as of an earlier commit
 * runs beside the current one, as the system `sundial@REF`, in the same scenarios of the same run, the
 * two alternating which goes first per repetition; the report gives current ÷ baseline per repetition,
 * so that load from elsewhere on the machine, which moves both, mostly cancels out.
 */

/** The baseline's system names start with this, the ref follows. */
const PREFIX = "sundial@";

/** Resolves `ref` to a commit of this repository; throws a message naming it when there is none. */
export function resolveCommit(ref: string): string {
	try {
		return execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
			cwd: repoRoot,
			encoding: "utf8",
		}).trim();
	} catch {
		throw new Error(`--baseline: "${ref}" is not a commit of ${repoRoot}`);
	}
}

/** Starts Sundial as of `ref` (its src/, wrangler.toml, package.json; this checkout's node_modules). */
export async function startBaseline(runtime: Runtime, ref: string): Promise<Baseline> {
	const commit = resolveCommit(ref);
	return { ref, commit, system: `${PREFIX}${ref}`, sundial: await startSundial(runtime, commit) };
}

/** `svc` with the baseline in Sundial's place: a scenario run against it unchanged. */
export function onBaseline(svc: Services): Services | null {
	return svc.baseline ? { ...svc, sundial: svc.baseline.sundial } : null;
}

/** The figures compared: #1 webhook lateness at each rate, #6 push rate and its CPU per delivery. */
function figures(rates: readonly number[]) {
	const lateness = rates.flatMap((rate) =>
		(["p50", "p99"] as const).map((q) => ({
			scenario: "1",
			variant: `rate=${rate}`,
			key: q,
			figure: `webhook lateness ${q} at ${rate.toLocaleString("en")}/s`,
			unit: "ms",
			better: "lower" as const,
		})),
	);
	const push = { scenario: "6", variant: "", key: "perSecond", figure: "webhook push rate", unit: "deliveries/s" };
	const cpu = {
		scenario: "6",
		variant: "",
		key: "cpuUsPerDelivery",
		figure: "push: workerd CPU per delivery",
		unit: "µs",
	};
	return [...lateness, { ...push, better: "higher" as const }, { ...cpu, better: "lower" as const }];
}

/** One compared figure: both systems' spreads and the per-repetition ratio current ÷ baseline. */
export interface BaselineRow {
	scenario: string;
	figure: string;
	unit: string;
	better: "lower" | "higher";
	current: Spread;
	baseline: Spread;
	ratio: Spread;
	/** Within noise by the rule of `withinNoise`; null without data. */
	met: boolean | null;
}

/** Lateness is measured in whole milliseconds (`Date.now()` at arrival): closer than this is one tick. */
const CLOCK_TICK_MS = 1;
const RATIO_LOWER = 1.1;
const RATIO_HIGHER = 0.9;

/**
 * "Within noise": the median of the per-repetition ratios is ≤ 1.1 (lower is better) or ≥ 0.9 (higher is
 * better); failing that, the current median still lies within the baseline's own min–max over the
 * repetitions, or (milliseconds) within one clock tick of the baseline's median.
 */
export function withinNoise(r: Omit<BaselineRow, "met">): boolean | null {
	if (r.ratio.n === 0) return null;
	if (r.better === "lower") {
		return (
			r.ratio.median <= RATIO_LOWER ||
			r.current.median <= r.baseline.max ||
			(r.unit === "ms" && r.current.median - r.baseline.median <= CLOCK_TICK_MS)
		);
	}
	return r.ratio.median >= RATIO_HIGHER || r.current.median >= r.baseline.min;
}

/** The comparison of a run's records: the baseline's ref and a row per figure; null when no baseline ran. */
export interface Comparison {
	ref: string;
	rows: BaselineRow[];
}

/** Compares the current Sundial with the baseline found in `records` (the system `sundial@<ref>`). */
export function compareWithBaseline(records: readonly RunRecord[], rates: readonly number[]): Comparison | null {
	const system = records.find((r) => r.system.startsWith(PREFIX))?.system;
	if (system === undefined) return null;
	const byRep = (sys: string, scenario: string, variant: string, key: string) => {
		const m = new Map<number, number>();
		for (const r of records) {
			const v = r.values[key];
			const wanted = r.system === sys && r.scenario === scenario && r.variant === variant;
			if (wanted && v !== undefined && Number.isFinite(v)) m.set(r.rep, v);
		}
		return m;
	};
	const rows = figures(rates).flatMap((f) => {
		const cur = byRep("sundial", f.scenario, f.variant, f.key);
		const base = byRep(system, f.scenario, f.variant, f.key);
		if (base.size === 0) return [];
		const ratios = [...cur].flatMap(([rep, x]) => {
			const y = base.get(rep);
			return y === undefined || y === 0 ? [] : [x / y];
		});
		const row = {
			...f,
			current: spread([...cur.values()]),
			baseline: spread([...base.values()]),
			ratio: spread(ratios),
		};
		return [{ ...row, met: withinNoise(row) }];
	});
	return { ref: system.slice(PREFIX.length), rows };
}

/** The report's section on the comparison; "" without one. */
export function baselineSection(c: Comparison | null): string {
	if (c === null || c.rows.length === 0) return "";
	const { ref, rows } = c;
	const ratio = (s: Spread) =>
		s.n === 0
			? "no data"
			: s.n === 1
				? num(s.median, "×")
				: `**${num(s.median, "×")}** (${num(s.min, "×")}–${num(s.max, "×")})`;
	const met = (m: boolean | null) => (m === null ? "—" : m ? "yes" : "**no**");
	const lines = rows.map(
		(r) =>
			`| ${r.scenario} | ${r.figure} | ${r.unit} | ${cell(r.current, r.unit)} | ${cell(r.baseline, r.unit)} | ${ratio(r.ratio)} | ${met(r.met)} |`,
	);
	return `### Against an earlier commit: Sundial at \`${ref}\`, in the same run (\`--baseline=${ref}\`)

The same scenarios against Sundial built from \`${ref}\`, started beside the current one, the two
alternating which goes first in each repetition. Ratio = current ÷ baseline per repetition (the two
runs of a repetition are back to back, so load from elsewhere on the machine moves both): median
(min–max). **Within noise** when that median ratio is ≤ ${RATIO_LOWER} for lateness (≥ ${RATIO_HIGHER} for the push
rate), or else when the current median lies within the baseline's own min–max over the repetitions,
or (lateness) within ${CLOCK_TICK_MS} ms of the baseline's median, the resolution of the arrival clock.

| # | figure | unit | Sundial (current) | Sundial at \`${ref}\` | current ÷ baseline | within noise |
|---|---|---|---|---|---|---|
${lines.join("\n")}
`;
}
