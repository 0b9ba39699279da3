import type { RunRecord } from "./scenarios/common.ts";
import { spread } from "./stats.ts";

/** The lines of the lateness plot: which records feed each. */
const SERIES = [
	{ name: "Sundial webhook", scenario: "1", system: "sundial", color: "#d9480f" },
	{ name: "Sundial pull", scenario: "2", system: "sundial-pull", color: "#e67700" },
	{ name: "BullMQ, Redis hz 10", scenario: "1", system: "bullmq-hz10", color: "#1c7ed6" },
	{ name: "BullMQ, Redis hz 100", scenario: "1", system: "bullmq-hz100", color: "#5f3dc4" },
];

const W = 440;
const H = 300;
const M = { left: 56, right: 16, top: 34, bottom: 44 };
const FLOOR_MS = 0.5;
const TICKS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** One panel: median over repetitions of `q` vs due rate, log–log. */
function panel(records: readonly RunRecord[], rates: readonly number[], q: "p50" | "p99", x0: number): string {
	const points = SERIES.map((s) => ({
		...s,
		pts: rates.map((rate) => {
			const v = records
				.filter((r) => r.scenario === s.scenario && r.system === s.system && r.variant === `rate=${rate}`)
				.map((r) => r.values[q])
				.filter((x): x is number => x !== undefined && Number.isFinite(x));
			return { rate, ms: spread(v).median };
		}),
	}));
	const all = points.flatMap((s) => s.pts.map((p) => p.ms)).filter(Number.isFinite);
	const top = TICKS.find((t) => t >= Math.max(10, ...all)) ?? TICKS[TICKS.length - 1];
	const ticks = TICKS.filter((t) => t <= (top as number));
	const lo = Math.log10(FLOOR_MS);
	const hi = Math.log10(top as number);
	const pw = W - M.left - M.right;
	const ph = H - M.top - M.bottom;
	const rlo = Math.log10(Math.min(...rates));
	const rhi = Math.log10(Math.max(...rates));
	const x = (rate: number) => x0 + M.left + (rhi === rlo ? pw / 2 : ((Math.log10(rate) - rlo) / (rhi - rlo)) * pw);
	const y = (ms: number) => M.top + ph - ((Math.log10(Math.max(ms, FLOOR_MS)) - lo) / (hi - lo)) * ph;
	const out: string[] = [];
	out.push(
		`<text x="${x0 + M.left + pw / 2}" y="20" text-anchor="middle" font-weight="bold">lateness ${q} (ms, log)</text>`,
	);
	out.push(`<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
	for (const t of ticks) {
		out.push(`<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`);
		out.push(`<text x="${x0 + M.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
	}
	for (const rate of rates) {
		out.push(`<text x="${x(rate)}" y="${M.top + ph + 16}" text-anchor="middle">${rate.toLocaleString("en")}</text>`);
	}
	out.push(`<text x="${x0 + M.left + pw / 2}" y="${H - 8}" text-anchor="middle">due rate (messages/s)</text>`);
	for (const s of points) {
		const pts = s.pts.filter((p) => Number.isFinite(p.ms));
		if (pts.length > 1) {
			const d = pts.map((p) => `${x(p.rate).toFixed(1)},${y(p.ms).toFixed(1)}`).join(" ");
			out.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
		}
		for (const p of pts) {
			out.push(
				`<circle cx="${x(p.rate).toFixed(1)}" cy="${y(p.ms).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(s.name)}: ${p.ms} ms at ${p.rate}/s</title></circle>`,
			);
		}
	}
	return out.join("\n");
}

/** A hand-written SVG: lateness p50 and p99 (median of repetitions) vs due rate, per system. */
export function latenessSvg(records: readonly RunRecord[], rates: readonly number[]): string {
	const legendY = H + 8;
	const legend = SERIES.map(
		(s, i) =>
			`<rect x="${M.left + i * 210}" y="${legendY}" width="14" height="4" fill="${s.color}"/>` +
			`<text x="${M.left + i * 210 + 20}" y="${legendY + 6}">${esc(s.name)}</text>`,
	).join("\n");
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 40}" viewBox="0 0 ${2 * W} ${H + 40}" font-family="sans-serif" font-size="12">`,
		`<rect width="100%" height="100%" fill="white"/>`,
		panel(records, rates, "p50", 0),
		panel(records, rates, "p99", W),
		legend,
		`<text x="${2 * W - 8}" y="${H + 32}" text-anchor="end" fill="#666" font-size="10">median of repetitions; values below ${FLOOR_MS} ms drawn at ${FLOOR_MS}</text>`,
		"</svg>",
		"",
	].join("\n");
}
