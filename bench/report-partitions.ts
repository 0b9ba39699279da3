import type { Options } from "./options.ts";
import { scalingMessages, scalingRate } from "./plan-partitions.ts";
import { cell, metCell, num } from "./report-format.ts";
import { partitionBound, SENDERS_PER_PARTITION } from "./scenarios/common.ts";
import type { SummaryRow } from "./summary-rows.ts";

/** Scenario 7's series, one line per system, one column per partition count. */
const SERIES: { series: string; label: string; withRatio: boolean }[] = [
	{ series: "push", label: "push, deliveries/s", withRatio: true },
	{ series: "scaling", label: "push ÷ push at P=1", withRatio: false },
	{ series: "concurrency", label: "receiver's max concurrent requests (push)", withRatio: false },
	{ series: "lateness p50", label: "lateness p50, ms", withRatio: false },
	{ series: "lateness p99", label: "lateness p99, ms", withRatio: false },
];

/** Scenario 7's table: figures down, partition counts across; "" when scenario 7 did not run. */
export function scalingTable(rows: readonly SummaryRow[], o: Options): string {
	const p = o.profile;
	const mine = rows.filter((r) => r.scenario === "7" && r.series !== undefined);
	if (mine.length === 0) return "";
	const ps = p.scalingPartitions;
	const at = (series: string, n: number) => mine.find((r) => r.series === series && r.partitions === n);
	const line = (label: string, cells: string[]) => `| ${label} | ${cells.join(" | ")} |`;
	const out = [
		line("partitions P", ps.map(String)),
		`|---|${ps.map(() => "---").join("|")}|`,
		line(
			`bound: 6·P in flight ÷ ${p.slowReceiverMs} ms, deliveries/s`,
			ps.map((n) => num(partitionBound(n, p.slowReceiverMs), "/s")),
		),
		line(
			"push run: messages due at once",
			ps.map((n) => num(scalingMessages(o, n), "")),
		),
		line(
			"lateness run: due rate, /s",
			ps.map((n) => num(scalingRate(o, n), "")),
		),
	];
	for (const s of SERIES) {
		const unit = (n: number) => at(s.series, n)?.unit ?? "";
		out.push(
			line(
				`${s.label}: **Sundial**`,
				ps.map((n) => cell(at(s.series, n)?.sundial ?? null, unit(n))),
			),
		);
		out.push(
			line(
				`${s.label}: BullMQ`,
				ps.map((n) => cell(at(s.series, n)?.bullmq ?? null, unit(n))),
			),
		);
		if (s.withRatio) {
			out.push(
				line(
					`${s.label}: Sundial ÷ BullMQ`,
					ps.map((n) => {
						const r = at(s.series, n)?.ratio;
						return r === null || r === undefined ? "–" : num(r, "×");
					}),
				),
			);
		}
	}
	return `### #7 partition scaling, by partition count

Every webhook is answered ${p.slowReceiverMs} ms after it arrives, so one partition (at most ${SENDERS_PER_PARTITION} requests in flight) is
bounded near ${num(partitionBound(1, p.slowReceiverMs), "/s")}/s and P partitions near P × that. BullMQ: one Worker with concurrency
6·P POSTing each job to the same receiver. Median (min–max) of the repetitions.

${out.join("\n")}
`;
}

/** The figure of a target row in words: Sundial's median, and BullMQ's with the ratio where there is one. */
function figureOf(r: SummaryRow): string {
	if (r.sundial.n === 0) return "no data (see Runs with remarks)";
	const s = `**${num(r.sundial.median, r.unit)}${r.unit === "×" ? "×" : ` ${r.unit}`}**`;
	if (r.bullmq === null || r.bullmq.n === 0) return s;
	const ratio = r.ratio === null ? "–" : `${num(r.ratio, "×")}×`;
	return `${s} (BullMQ ${num(r.bullmq.median, r.unit)}${r.unit === "×" ? "×" : ""}; Sundial ÷ BullMQ ${ratio})`;
}

/** "Targets of issue 10": each of its figures in a sentence, with the command that measured it. */
export function issue10Section(rows: readonly SummaryRow[], command: (r: SummaryRow) => string): string {
	const mine = rows.filter((r) => r.issue10);
	if (mine.length === 0) return "";
	const commands = [...new Set(mine.map(command))];
	const groups = commands.map((cmd) => {
		const lines = mine
			.filter((r) => command(r) === cmd)
			.map((r) => {
				const target = r.target === "—" ? "" : ` — target ${r.target}: ${metCell(r)}`;
				return `- #${r.scenario} ${r.figure}: ${figureOf(r)}${target}`;
			});
		return `Measured by \`${cmd}\`:\n\n${lines.join("\n")}`;
	});
	return `## Targets of issue 10 (partitions)

${groups.join("\n\n")}
`;
}

/** How scenarios 7 and 8 and the partition variants of #3 and #4's ratio are measured. */
export function partitionsMethod(o: Options): string {
	const p = o.profile;
	const ps = p.scalingPartitions.join(", ");
	return `- **#3 with partitions**: the same batch publish into topics of ${p.batchPartitions.filter((n) => n > 1).join(" and ")} partitions
  (messages spread by a hash of their id), compared with the same BullMQ \`addBulk\` figure.
  **#4 ratio**: single publish ÷ \`GET /health\` (no auth, no object) from the same client at the same concurrency, per repetition.
- **#7 partition scaling** (P = ${ps}): the receiver answers every webhook ${p.slowReceiverMs} ms after it arrived. Push: P × ${p.scalingDrainS} s
  at the bound (${SENDERS_PER_PARTITION}·P ÷ ${p.slowReceiverMs} ms) of messages due at the same instant into a topic of P partitions with one webhook
  subscription; deliveries/s = received ÷ (last arrival − due). Lateness: ${Math.round(p.scalingRateShare * 100)} % of the bound due per second for ${p.scalingWindowS} s, arrival
  at the receiver − due. BullMQ: a Worker with concurrency 6·P whose processor POSTs each job to the same receiver (Redis hz 10).
  Local ceiling: workerd alone (bench/fetch-loop.ts, no Sundial code) signing and sending like a webhook with 6·P in flight
  to the same receiver at the largest P (\`npm run bench:fetch-ceiling -- --in-flight=${SENDERS_PER_PARTITION * Math.max(...p.scalingPartitions)} --delay-ms=${p.slowReceiverMs}\` alone).
  Locally workerd does not cap connections; Sundial's own cap of 6 in flight per object is what bounds each partition.
- **#8 pull drain** (P = ${p.drainPartitions.join(", ")}): ${p.drainTotal.toLocaleString("en")} messages due at the same instant in a pull topic of P partitions,
  drained by the bench's pull consumer (${p.drainPollers} long polls \`{max: 100, wait: "5s"}\` out at once, acks not awaited); messages/s =
  received ÷ (last arrival − due). BullMQ: a Worker (concurrency ${p.bullConcurrency}, a processor that only records) draining the same count.`;
}
