import { existsSync, readFileSync } from "node:fs";
import type { Options } from "./options.ts";
import type { RunRecord } from "./scenarios/common.ts";
import type { SummaryRow } from "./summary-rows.ts";

/** Figures of an earlier run kept in the report because this run (`--only`) did not measure them again. */
export interface Carried {
	rows: SummaryRow[];
	records: RunRecord[];
	/** The runs they come from, as "`command` on date (commit, cpus)". */
	sources: string[];
}

const NONE: Carried = { rows: [], records: [], sources: [] };

/**
 * The rows and records of the scenarios this run skipped, from the bench-results.json it is about to
 * replace, each marked `from` the run that measured it (kept across several `--only` runs). Nothing
 * when this run ran every scenario, is a smoke run, or the earlier file is a smoke run's.
 */
export function carriedOver(o: Options, jsonPath: string): Carried {
	const only = o.only;
	if (o.smoke || only === null || !existsSync(jsonPath)) return NONE;
	let prev: {
		command?: string;
		facts?: Record<string, string>;
		profile?: { smoke?: boolean };
		summary?: SummaryRow[];
		records?: RunRecord[];
	};
	try {
		prev = JSON.parse(readFileSync(jsonPath, "utf8"));
	} catch {
		return NONE;
	}
	if (prev.profile?.smoke !== false) return NONE;
	const f = prev.facts ?? {};
	const label = `\`${prev.command ?? "?"}\` on ${f.date ?? "?"} (commit ${f["sundial commit"] ?? "?"}, ${f.cpus ?? "?"})`;
	const rows = (prev.summary ?? []).filter((r) => !only.has(r.scenario)).map((r) => ({ ...r, from: r.from ?? label }));
	const records = (prev.records ?? [])
		.filter((r) => !only.has(r.scenario))
		.map((r) => ({ ...r, from: r.from ?? label }));
	return { rows, records, sources: [...new Set(rows.map((r) => r.from as string))] };
}
