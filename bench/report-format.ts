import type { Spread } from "./stats.ts";
import type { SummaryRow } from "./summary-rows.ts";

/** One figure in its unit's precision. */
export const num = (v: number, unit: string) => {
	if (!Number.isFinite(v)) return "–";
	if (unit === "ms") return v < 10 ? v.toFixed(1).replace(/\.0$/, "") : Math.round(v).toString();
	if (unit === "MB") return Math.round(v).toLocaleString("en");
	if (unit === "×") return v >= 10 ? v.toFixed(1) : v.toFixed(2);
	return v >= 100 ? Math.round(v).toLocaleString("en") : String(Math.round(v * 10) / 10);
};

/** A spread as "**median** (min–max)", one value as itself. */
export const cell = (s: Spread | null, unit: string) =>
	s === null
		? "—"
		: s.n === 0
			? "no data"
			: s.n === 1
				? num(s.median, unit)
				: `**${num(s.median, unit)}** (${num(s.min, unit)}–${num(s.max, unit)})`;

export const ratioCell = (r: SummaryRow) => {
	const f = (x: number | null) => (x === null || !Number.isFinite(x) ? "–" : x >= 10 ? x.toFixed(0) : x.toFixed(2));
	if (r.bullmq === null) return "—";
	return r.bullmqHz100 ? `${f(r.ratio)} / ${f(r.ratioHz100)}` : f(r.ratio);
};

export const metCell = (r: SummaryRow) => (r.met === null ? "—" : r.met ? "met" : "**missed**");
