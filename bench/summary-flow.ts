/** The results table's rows of scenario 10 (issue 12: flow control). */

import type { RowBuilder } from "./summary-rows.ts";

/**
 * Scenario 10's rows (issue 12): isolation, then (`all`; not for `--only=10i`) rate accuracy and
 * ordering under failures; Sundial only.
 */
export function summarizeFlow(b: RowBuilder, all: boolean): void {
	const sp = b.sp.bind(b);
	const row = b.row.bind(b);
	for (const q of ["p50", "p99"] as const) {
		for (const [variant, label] of [
			["alone", "alone"],
			["neighbour", "beside a subscription whose receiver hangs to its 10 s timeout"],
		] as const) {
			row(
				"10",
				`healthy subscription's lateness ${q} at 100/s, ${label}`,
				"ms",
				"lower",
				sp("10", "sundial", variant, q),
				null,
				null,
				"—",
				null,
			);
		}
	}
	row(
		"10",
		"isolation: healthy p99 beside the hanging one ÷ alone (per repetition)",
		"×",
		"lower",
		b.ratioPerRep("10", ["sundial", "neighbour", "p99"], ["sundial", "alone", "p99"]),
		null,
		null,
		"≤ 1.2",
		(v) => v <= 1.2,
	);
	if (!all) return;
	const most = sp("10", "sundial", "rate", "slidingMax");
	row(
		"10",
		"rate limit 100/s: most attempts in any 1 s window (sliding)",
		"count",
		"lower",
		most,
		null,
		null,
		"≤ 100 (never more)",
		() => most.max <= 100,
	);
	const lo = sp("10", "sundial", "rate", "perSecondMin");
	const hi = sp("10", "sundial", "rate", "perSecondMax");
	row(
		"10",
		"rate limit 100/s over 30 s: fewest in a whole second",
		"count",
		"higher",
		lo,
		null,
		null,
		"≥ 98",
		() => lo.min >= 98,
	);
	row(
		"10",
		"rate limit 100/s over 30 s: most in a whole second",
		"count",
		"lower",
		hi,
		null,
		null,
		"≤ 102",
		() => hi.max <= 102,
	);
	const out = sp("10", "sundial", "ordering", "outOfOrder");
	row(
		"10",
		"ordering: 10,000 messages over 100 keys, receiver failing 20 %: attempts before their predecessor was delivered",
		"count",
		"lower",
		out,
		null,
		null,
		"0",
		() => out.max === 0,
	);
	const lost = sp("10", "sundial", "ordering", "undelivered");
	row(
		"10",
		"ordering: messages not delivered (within 10 min)",
		"count",
		"lower",
		lost,
		null,
		null,
		"0",
		() => lost.max === 0,
	);
	row(
		"10",
		"ordering: time to deliver all (s)",
		"s",
		"lower",
		sp("10", "sundial", "ordering", "durationS"),
		null,
		null,
		"—",
		null,
	);
	const beside = sp("10", "sundial", "beside", "outOfOrder");
	row(
		"10",
		"ordering beside a paused subscription (3,000 messages on one key, all kept open): out of order",
		"count",
		"lower",
		beside,
		null,
		null,
		"0",
		() => beside.max === 0,
	);
	row(
		"10",
		"ordering beside a paused subscription: time to deliver all (s)",
		"s",
		"lower",
		sp("10", "sundial", "beside", "durationS"),
		null,
		null,
		"—",
		null,
	);
}
