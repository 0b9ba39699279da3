/**
 * Prometheus's text exposition format (0.0.4) and OpenMetrics 1.0 text, which differ here only in
 * how a counter family is named (`x_total` vs `x`), the content type, and OpenMetrics' `# EOF`.
 */

/** What `/metrics` answers in: Prometheus text unless the scraper asks for OpenMetrics. */
export type ExpositionFormat = "prometheus" | "openmetrics";

export const EXPOSITION_CONTENT_TYPES: Record<ExpositionFormat, string> = {
	prometheus: "text/plain; version=0.0.4; charset=utf-8",
	openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/** OpenMetrics when the `Accept` header names it (as Prometheus's own scraper does), else Prometheus text. */
export function formatFor(accept: string | undefined): ExpositionFormat {
	return accept?.toLowerCase().includes("application/openmetrics-text") ? "openmetrics" : "prometheus";
}

/** One sample: `name + suffix{labels} value`. */
export interface Sample {
	/** Appended to the family's name: `_bucket`, `_sum`, `_count`, or a counter's `_total`. */
	suffix?: string;
	labels: Record<string, string>;
	value: number;
}

/** A metric family: its name (a counter's without `_total`), type, help and samples. */
export interface Family {
	name: string;
	type: "gauge" | "counter" | "histogram";
	help: string;
	samples: Sample[];
}

/** A label value with `\`, `"` and line feeds escaped, as both formats require. */
export function escapeLabelValue(value: string): string {
	return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text with `\` and line feeds escaped. */
function escapeHelp(text: string): string {
	return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: integers as such, `+Inf`/`-Inf`/`NaN` by name, other numbers in shortest form. */
export function formatValue(n: number): string {
	if (Number.isNaN(n)) return "NaN";
	if (n === Number.POSITIVE_INFINITY) return "+Inf";
	if (n === Number.NEGATIVE_INFINITY) return "-Inf";
	return String(n);
}

function labelSet(labels: Record<string, string>): string {
	const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
	return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/** The families as exposition text in `format`. */
export function renderExposition(families: readonly Family[], format: ExpositionFormat): string {
	const out: string[] = [];
	for (const f of families) {
		// Prometheus text names a counter family by its samples' name; OpenMetrics without `_total`.
		const name = f.type === "counter" && format === "prometheus" ? `${f.name}_total` : f.name;
		out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`);
		for (const s of f.samples) out.push(`${f.name}${s.suffix ?? ""}${labelSet(s.labels)} ${formatValue(s.value)}`);
	}
	if (format === "openmetrics") out.push("# EOF");
	return `${out.join("\n")}\n`;
}
