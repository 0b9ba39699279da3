// parse-prometheus-text-format (1.1.1) ships no types: the shape of what it returns (prom2json's).
declare module "parse-prometheus-text-format" {
	/** One sample, or for a histogram the series' buckets by `le` (and, without labels, `count` and `sum`). */
	export interface ParsedSample {
		value?: string;
		labels?: Record<string, string>;
		buckets?: Record<string, string>;
		count?: string;
		sum?: string;
		timestamp_ms?: string;
	}
	export interface ParsedFamily {
		name: string;
		help: string;
		type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
		metrics: ParsedSample[];
	}
	/** Parses Prometheus text format 0.0.4; throws on a malformed line. */
	export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
