import { join } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../test/support/wrangler.ts";
import type { Profile } from "./scenarios/common.ts";
import type { Runtime } from "./sundial.ts";

/** Command-line options of `node bench/run.ts`. */
export interface Options {
	smoke: boolean;
	/** Whether BullMQ + Redis run beside Sundial (`--systems`); default true. Without them nothing needs redis-server. */
	bullmq: boolean;
	/** Scenario ids to run ("1"…"10"); null = all. */
	only: Set<string> | null;
	/** Where BENCHMARKS.md, bench-results.json and bench-lateness.svg go. */
	out: string;
	/** The whole run's time budget, seconds: steps that would start later are skipped (and say so). */
	budgetS: number;
	/** What runs Sundial: plain workerd (default) or `wrangler dev` (bench/workerd.ts says why). */
	runtime: Runtime;
	/**
	 * `--baseline=REF`: a git ref whose Worker also runs, as a second system `sundial@REF`, in #1 and #6,
	 * alternating with the current one per repetition (bench/baseline.ts); null = none.
	 */
	baseline: string | null;
	/** The exact command, for the report. */
	command: string;
	profile: Profile;
}

export const SCENARIOS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "10i"];

/**
 * What `--smoke` runs without `--only`: issue 6's scenarios, the harness check that npm test runs
 * within its minute. `--smoke --only=7,8` checks the partition scenarios the same way, `--smoke --only=9`
 * the /v1 vs /v2 one.
 */
const SMOKE_SCENARIOS = ["1", "2", "3", "4", "5", "6"];
const SYSTEMS = ["sundial", "bullmq"];

/**
 * Batches in flight for Sundial's batch route: the fastest of 1, 2 and 4 on the 2-core machine
 * (30,000 messages, 3 alternating rounds, medians: 1 → 6,400, 2 → 6,000, 4 → 7,500 msg/s).
 */
const BATCH_IN_FLIGHT = 4;

/**
 * Scenario 5's default backlog. Issue 6 asks for 1,000,000, but on the 2-core machine loading it took
 * 212 s into Sundial (≈ 4,700 msg/s) plus 46 s into BullMQ, which with the other scenarios' 3
 * repetitions does not fit the 15-minute budget; 300,000 does. `--backlog=1000000` runs the full size.
 */
export const DEFAULT_BACKLOG = 300_000;

const USAGE = `usage: node bench/run.ts [--smoke] [--systems=S] [--only=1,3] [--reps=N] [--backlog=N] [--runtime=R] [--out=DIR]
  --smoke      ≤ 60 s, tiny counts, scenarios ${SMOKE_SCENARIOS.join(",")} unless --only: the harness check
               (npm test runs it with --systems=sundial, npm run test:bench-peer with both)
  --systems=S  sundial,bullmq (default) or sundial: Sundial alone, no redis-server needed
  --only=IDS   scenarios to run, comma-separated, of ${SCENARIOS.join(",")}:
               1 webhook lateness, 2 pull lateness, 3 batch publish (P = 1, 4, 16), 4 single publish,
               5 backlog, 6 push, 7 partition scaling (50 ms receiver), 8 pull drain (P = 1, 4, 16),
               9 webhook lateness through /v1 vs /v2 (QStash-compatible publish; Sundial only),
               10 flow control: isolation, rate accuracy, ordering under failures (Sundial only),
               10i the isolation part of 10 alone (reported as 10)
  --reps=N     repetitions (default 3; smoke 1)
  --backlog=N  messages in scenario 5's backlog (default ${DEFAULT_BACKLOG}; smoke 5000)
  --baseline=REF
               also run Sundial as of git ref REF (its src/ and wrangler.toml, from git archive) as a
               second system in #1 and #6, alternating with the current one per repetition, and report
               current ÷ baseline (the cost of new machinery when unused)
  --runtime=R  what runs Sundial: workerd (default; the runtime alone) or wrangler (all of wrangler dev)
  --out=DIR    output directory (default docs/)`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
	if (raw === undefined) return fallback;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"\n${USAGE}`);
	return n;
}

export function parseOptions(argv: string[]): Options {
	const { values } = parseArgs({
		args: argv,
		strict: true,
		options: {
			smoke: { type: "boolean", default: false },
			systems: { type: "string" },
			only: { type: "string" },
			reps: { type: "string" },
			backlog: { type: "string" },
			out: { type: "string" },
			runtime: { type: "string" },
			baseline: { type: "string" },
			help: { type: "boolean", default: false },
		},
	});
	if (values.help) {
		process.stdout.write(`${USAGE}\n`);
		process.exit(0);
	}
	const smoke = values.smoke ?? false;
	const runtime = values.runtime ?? "workerd";
	if (runtime !== "workerd" && runtime !== "wrangler") {
		throw new Error(`--runtime must be workerd or wrangler, got "${runtime}"\n${USAGE}`);
	}
	const systems = (values.systems ?? SYSTEMS.join(",")).split(",").map((s) => s.trim());
	const badSystems = systems.filter((s) => !SYSTEMS.includes(s));
	if (badSystems.length > 0 || !systems.includes("sundial")) {
		const why = badSystems.length > 0 ? `unknown system(s) ${badSystems.join(", ")}` : "Sundial always runs";
		throw new Error(`--systems: ${why}; sundial,bullmq or sundial\n${USAGE}`);
	}
	let only: Set<string> | null = smoke ? new Set(SMOKE_SCENARIOS) : null;
	if (values.only !== undefined) {
		only = new Set(values.only.split(",").map((s) => s.trim()));
		const bad = [...only].filter((s) => !SCENARIOS.includes(s));
		if (bad.length > 0) throw new Error(`--only: unknown scenario(s) ${bad.join(", ")}\n${USAGE}`);
	}
	const reps = positiveInt("reps", values.reps, smoke ? 1 : 3);
	const backlog = positiveInt("backlog", values.backlog, smoke ? 5_000 : DEFAULT_BACKLOG);
	const profile: Profile = smoke
		? {
				smoke,
				reps,
				rates: [200],
				windowS: 1,
				batchTotal: 2_000,
				batchSize: 1000,
				batchInFlight: BATCH_IN_FLIGHT,
				singleTotal: 300,
				singleInFlight: 50,
				backlog,
				backlogRate: 200,
				pushTotal: 1_000,
				pullPollers: 2,
				bullConcurrency: 50,
				batchPartitions: [1, 4],
				scalingPartitions: [1, 2],
				slowReceiverMs: 50,
				scalingDrainS: 0.5,
				scalingRateShare: 0.5,
				scalingWindowS: 1,
				drainPartitions: [1, 4],
				drainTotal: 1_000,
				drainPollers: 4,
				v2Rates: [200],
				flowRate: 100,
				flowRateS: 3,
				orderingMessages: 500,
				orderingKeys: 10,
				besideMessages: 200,
			}
		: {
				smoke,
				reps,
				rates: [100, 1000, 3000],
				windowS: 6,
				batchTotal: 50_000,
				batchSize: 1000,
				batchInFlight: BATCH_IN_FLIGHT,
				singleTotal: 10_000,
				singleInFlight: 50,
				backlog,
				backlogRate: 1000,
				pushTotal: 20_000,
				pullPollers: 2,
				bullConcurrency: 50,
				batchPartitions: [1, 4, 16],
				scalingPartitions: [1, 2, 4, 8, 16],
				slowReceiverMs: 50,
				scalingDrainS: 2,
				scalingRateShare: 0.5,
				scalingWindowS: 2,
				drainPartitions: [1, 4, 16],
				drainTotal: 10_000,
				drainPollers: 4,
				v2Rates: [100, 1000],
				flowRate: 100,
				flowRateS: 30,
				orderingMessages: 10_000,
				orderingKeys: 100,
				besideMessages: 3_000,
			};
	return {
		smoke,
		bullmq: systems.includes("bullmq"),
		only,
		out: values.out ?? join(repoRoot, "docs"),
		runtime,
		baseline: values.baseline?.trim() || null,
		budgetS: smoke ? 55 : 20 * 60,
		command: ["npm run bench", ...(argv.length ? ["--", ...argv] : [])].join(" "),
		profile,
	};
}
