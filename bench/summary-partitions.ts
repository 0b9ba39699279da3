import type { Options } from "./options.ts";
import { pVariant, scalingMessages, scalingRate } from "./plan-partitions.ts";
import { partitionBound, SENDERS_PER_PARTITION } from "./scenarios/common.ts";
import type { RowBuilder } from "./summary-rows.ts";

const fmt = (n: number) => Math.round(n).toLocaleString("en");

/** Push throughput issue 10 asks of 16 partitions, deliveries/s. */
const TOP_PUSH_TARGET = 1_500;
const TOP_PUSH_PARTITIONS = 16;
/** Scaling issue 10 asks of 8 partitions over 1 (50 ms receiver). */
const SCALING_TARGET = 7;

/**
 * Issue 10's rows: batch publish at P > 1 (#3), partition scaling with a slow receiver (#7), pull
 * drain at each P (#8). `partitions` = this Sundial takes them (else only P = 1 rows are required).
 */
export function summarizePartitions(b: RowBuilder, o: Options, partitions: boolean): void {
	const p = o.profile;
	const want = (id: string) => o.only === null || o.only.has(id);
	const required = (n: number) => n === 1 || partitions;

	if (want("3")) {
		for (const n of p.batchPartitions.filter((x) => x > 1)) {
			b.row(
				"3",
				`batch publish, ${fmt(p.batchTotal)} in batches of ${p.batchSize}, topic of ${n} partitions`,
				"msg/s",
				"higher",
				b.sp("3", "sundial", pVariant(n), "perSecond"),
				b.bsp("3", "bullmq-hz10", "", "perSecond"),
				null,
				"≥ 2× BullMQ",
				(_s, r) => r !== null && r >= 2,
				{ required: required(n), issue10: true },
			);
		}
	}

	if (want("7")) scalingRows(b, o, partitions);

	if (want("8")) {
		for (const n of p.drainPartitions) {
			b.row(
				"8",
				`pull drain, ${fmt(p.drainTotal)} due at once, ${p.drainPollers} long polls of ≤ 100, topic of ${n} partition${n > 1 ? "s" : ""}`,
				"msg/s",
				"higher",
				b.sp("8", "sundial-pull", pVariant(n), "perSecond"),
				b.bsp("8", "bullmq-hz10", "", "perSecond"),
				null,
				"—",
				null,
				{ required: required(n) },
			);
		}
		const lost = b.earlyOrMissing("8", "sundial-pull");
		b.row(
			"8",
			"early + missing arrivals per run (all P)",
			"count",
			"lower",
			lost,
			b.bullmq ? b.earlyOrMissing("8", "bullmq-hz10") : null,
			null,
			"0 (every run)",
			() => lost.max === 0,
			{ required: false },
		);
	}
}

/** Scenario 7: per-P series (their own table) and the headline figures (main table). */
function scalingRows(b: RowBuilder, o: Options, partitions: boolean): void {
	const p = o.profile;
	const ms = p.slowReceiverMs;
	const required = (n: number) => n === 1 || partitions;
	const push = (n: number) => `push ${pVariant(n)}`;
	const late = (n: number) => `lateness ${pVariant(n)}`;
	for (const n of p.scalingPartitions) {
		const series = { partitions: n, required: required(n) };
		b.row(
			"7",
			`push, ${fmt(scalingMessages(o, n))} due at once (bound ${fmt(partitionBound(n, ms))}/s)`,
			"deliveries/s",
			"higher",
			b.sp("7", "sundial", push(n), "perSecond"),
			b.bsp("7", "bullmq-hz10", push(n), "perSecond"),
			null,
			"—",
			null,
			{ ...series, series: "push" },
		);
		b.row(
			"7",
			"push ÷ push at P=1 (per repetition)",
			"×",
			"higher",
			b.ratioPerRep("7", ["sundial", push(n), "perSecond"], ["sundial", push(1), "perSecond"]),
			b.bullmq
				? b.ratioPerRep("7", ["bullmq-hz10", push(n), "perSecond"], ["bullmq-hz10", push(1), "perSecond"])
				: null,
			null,
			"—",
			null,
			{ ...series, required: false, series: "scaling" },
		);
		const conc = b.sp("7", "sundial", push(n), "maxConcurrent");
		b.row(
			"7",
			"receiver's max concurrent requests (push)",
			"count",
			"lower",
			conc,
			b.bsp("7", "bullmq-hz10", push(n), "maxConcurrent"),
			null,
			`≤ ${SENDERS_PER_PARTITION * n}`,
			() => conc.max <= SENDERS_PER_PARTITION * n,
			{ ...series, required: false, series: "concurrency" },
		);
		for (const q of ["p50", "p99"] as const) {
			b.row(
				"7",
				`lateness ${q} at ${fmt(scalingRate(o, n))} due/s for ${p.scalingWindowS} s`,
				"ms",
				"lower",
				b.sp("7", "sundial", late(n), q),
				b.bsp("7", "bullmq-hz10", late(n), q),
				null,
				"—",
				null,
				{ ...series, series: `lateness ${q}` },
			);
		}
	}

	const has = (n: number) => p.scalingPartitions.includes(n);
	if (has(1) && has(8)) {
		b.row(
			"7",
			`push at P=8 ÷ P=1, receiver answers in ${ms} ms (per repetition; BullMQ: concurrency 48 ÷ 6)`,
			"×",
			"higher",
			b.ratioPerRep("7", ["sundial", push(8), "perSecond"], ["sundial", push(1), "perSecond"]),
			b.bullmq
				? b.ratioPerRep("7", ["bullmq-hz10", push(8), "perSecond"], ["bullmq-hz10", push(1), "perSecond"])
				: null,
			null,
			`≥ ${SCALING_TARGET}×`,
			(s) => s >= SCALING_TARGET,
			{ required: partitions, issue10: true },
		);
	}
	const top = Math.max(...p.scalingPartitions);
	const ceiling = b.sp("7", "workerd-alone", push(top), "perSecond");
	b.row(
		"7",
		`push at P=${top}, receiver answers in ${ms} ms (BullMQ: concurrency ${SENDERS_PER_PARTITION * top})`,
		"deliveries/s",
		"higher",
		b.sp("7", "sundial", push(top), "perSecond"),
		b.bsp("7", "bullmq-hz10", push(top), "perSecond"),
		null,
		top === TOP_PUSH_PARTITIONS ? `≥ ${fmt(TOP_PUSH_TARGET)}/s, or the local ceiling (next rows)` : "—",
		top === TOP_PUSH_PARTITIONS ? (s) => s >= TOP_PUSH_TARGET : null,
		{ required: required(top), issue10: true },
	);
	b.row(
		"7",
		`local ceiling: workerd alone (no Sundial code) sending as a webhook, ${SENDERS_PER_PARTITION * top} in flight, same receiver`,
		"req/s",
		"higher",
		ceiling,
		null,
		null,
		"—",
		null,
		{ required: false, issue10: true },
	);
	b.row(
		"7",
		`push at P=${top} ÷ that local ceiling (per repetition)`,
		"×",
		"higher",
		b.ratioPerRep("7", ["sundial", push(top), "perSecond"], ["workerd-alone", push(top), "perSecond"]),
		null,
		null,
		"—",
		null,
		{ required: false, issue10: true },
	);
	const lost = b.earlyOrMissing("7", "sundial");
	b.row(
		"7",
		"early + missing arrivals per run (push and lateness, all P)",
		"count",
		"lower",
		lost,
		b.bullmq ? b.earlyOrMissing("7", "bullmq-hz10") : null,
		null,
		"0 (every run)",
		() => lost.max === 0,
		{ required: false },
	);
}
