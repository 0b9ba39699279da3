import type { RunRecord } from "./scenarios/common.ts";
import { type Spread, spread } from "./stats.ts";

/** One line of the results: one figure, both systems, the ratio and the target. */
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
	/** Scenario 7's per-partition figures: shown in its own table, one column per P (absent = main table). */
	series?: string;
	partitions?: number;
	/** A target of issue 10, spelled out under "Targets of issue 10". */
	issue10?: boolean;
	/** Set on a row carried over from an earlier run's results: that run (bench/report-carry.ts). */
	from?: string;
}

/** Extra properties of a row. */
export interface RowExtras {
	required?: boolean;
	series?: string;
	partitions?: number;
	issue10?: boolean;
}

/** Reads figures out of the run records and collects the rows built from them. */
export class RowBuilder {
	readonly rows: SummaryRow[] = [];
	private readonly records: readonly RunRecord[];
	/** BullMQ ran (not `--systems=sundial`): its columns are figures, else null (nothing counts as missing). */
	readonly bullmq: boolean;

	constructor(records: readonly RunRecord[], bullmq = true) {
		this.records = records;
		this.bullmq = bullmq;
	}

	/** The finite values of `key` over the repetitions of one scenario/system/variant. */
	values(scenario: string, system: string, variant: string, key: string): number[] {
		return this.records
			.filter((r) => r.scenario === scenario && r.system === system && r.variant === variant)
			.map((r) => r.values[key])
			.filter((v): v is number => v !== undefined && Number.isFinite(v));
	}

	sp(scenario: string, system: string, variant: string, key: string): Spread {
		return spread(this.values(scenario, system, variant, key));
	}

	/** A BullMQ figure: `sp`, or null when BullMQ did not run. */
	bsp(scenario: string, system: string, variant: string, key: string): Spread | null {
		return this.bullmq ? this.sp(scenario, system, variant, key) : null;
	}

	/** Per repetition, `a` ÷ `b` (each [system, variant, key] of `scenario`), where both exist. */
	ratioPerRep(scenario: string, a: [string, string, string], b: [string, string, string]): Spread {
		const byRep = (system: string, variant: string, key: string) => {
			const m = new Map<number, number>();
			for (const r of this.records) {
				const v = r.values[key];
				if (r.scenario === scenario && r.system === system && r.variant === variant && v !== undefined) m.set(r.rep, v);
			}
			return m;
		};
		const top = byRep(...a);
		const bottom = byRep(...b);
		const out: number[] = [];
		for (const [rep, x] of top) {
			const y = bottom.get(rep);
			if (y !== undefined && y !== 0) out.push(x / y);
		}
		return spread(out);
	}

	/** Per repetition, `a` − `b` (each [system, variant, key] of `scenario`), where both exist. */
	diffPerRep(scenario: string, a: [string, string, string], b: [string, string, string]): Spread {
		const byRep = (system: string, variant: string, key: string) => {
			const m = new Map<number, number>();
			for (const r of this.records) {
				const v = r.values[key];
				if (r.scenario === scenario && r.system === system && r.variant === variant && v !== undefined) m.set(r.rep, v);
			}
			return m;
		};
		const bottom = byRep(...b);
		const out: number[] = [];
		for (const [rep, x] of byRep(...a)) {
			const y = bottom.get(rep);
			if (y !== undefined && Number.isFinite(x) && Number.isFinite(y)) out.push(x - y);
		}
		return spread(out);
	}

	/** Early plus missing arrivals per run of one scenario/system, all variants. */
	earlyOrMissing(scenario: string, system: string): Spread {
		return spread(
			this.records
				.filter((r) => r.scenario === scenario && r.system === system && r.values.early !== undefined)
				.map((r) => (r.values.early ?? 0) + (r.values.missing ?? 0)),
		);
	}

	row(
		scenario: string,
		figure: string,
		unit: string,
		better: "lower" | "higher",
		sundial: Spread,
		bullmq: Spread | null,
		bullmqHz100: Spread | null,
		target: string,
		check: ((s: number, ratio: number | null) => boolean) | null,
		extras: RowExtras = {},
	): void {
		const ratioOf = (b: Spread | null) => (b && b.n > 0 && b.median !== 0 ? sundial.median / b.median : null);
		const ratio = ratioOf(bullmq);
		const complete = sundial.n > 0 && (bullmq === null || bullmq.n > 0) && (bullmqHz100 === null || bullmqHz100.n > 0);
		const met = check && sundial.n > 0 ? check(sundial.median, ratio) : null;
		const { required = true, ...rest } = extras;
		this.rows.push({
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
			...rest,
		});
	}
}
