import { onBaseline } from "./baseline.ts";
import type { Options } from "./options.ts";
import { NO_PARTITIONS, pVariant, runDrain, runScaling } from "./plan-partitions.ts";
import { type Both, onRedis10, type Step, type Values } from "./plan-steps.ts";
import type { RedisServer } from "./redis.ts";
import { bullLoadBacklog, bullMemoryNow, sundialLoadBacklog, sundialMemoryNow } from "./scenarios/backlog.ts";
import type { RunRecord, Services } from "./scenarios/common.ts";
import { sundialIsolation, sundialOrdering, sundialOrderingBeside, sundialRateAccuracy } from "./scenarios/flow.ts";
import { bullLateness, sundialLateness } from "./scenarios/lateness.ts";
import { bullAdd, bullAddBulk, sundialBatch, sundialSingle } from "./scenarios/publish.ts";
import { bullPush, sundialPush } from "./scenarios/push.ts";
import { sundialV2Lateness, V2_DRAIN_MS, v2LeadMs } from "./scenarios/qstash.ts";
import { elapsedS, progress } from "./util.ts";

/** One line of figures for the progress output. */
function brief(v: Values): string {
	const f = (x: number | undefined, d = 0) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(d));
	if (v.p99 !== undefined) {
		return `p50 ${f(v.p50)} ms, p99 ${f(v.p99)} ms, max ${f(v.max)} ms (${f(v.received)}/${f(v.expected)}, early ${f(v.early)})`;
	}
	if (v.maxConcurrent !== undefined) {
		const conns = `${f(v.connections)} connection(s)`;
		return `${f(v.perSecond)}/s (${f(v.received)}/${f(v.messages)}, max concurrency ${f(v.maxConcurrent)}, ${conns})`;
	}
	if (v.slidingMax !== undefined) {
		return `most in any 1 s ${f(v.slidingMax)}, whole seconds ${f(v.perSecondMin)}–${f(v.perSecondMax)} (${f(v.received)}/${f(v.expected)} in ${f(v.durationS, 1)} s)`;
	}
	if (v.outOfOrder !== undefined) {
		return `${f(v.outOfOrder)} out of order, ${f(v.undelivered)} undelivered, ${f(v.failedAttempts)} failed attempts (${f(v.delivered)}/${f(v.expected)} in ${f(v.durationS, 1)} s)`;
	}
	if (v.rssBytes !== undefined) {
		const parts =
			v.anonBytes === undefined
				? ""
				: ` (anon ${f(v.anonBytes / 2 ** 20)}, file ${f((v.fileBytes ?? 0) / 2 ** 20)}, shmem ${f((v.shmemBytes ?? 0) / 2 ** 20)})`;
		return `${f(v.rssBytes / 2 ** 20)} MB${parts}`;
	}
	if (v.seconds === undefined && v.inFlight !== undefined) return `${f(v.perSecond)}/s (${f(v.inFlight)} in flight)`;
	if (v.drainMs !== undefined) {
		return `${f(v.perSecond)}/s (${f(v.received)}/${f(v.messages)} in ${f(v.drainMs)} ms after due)`;
	}
	const floor =
		v.healthPerSecond === undefined ? "" : `; GET /health at the same concurrency: ${f(v.healthPerSecond)}/s`;
	return `${f(v.perSecond)}/s (${f(v.seconds, 2)} s${floor})`;
}

/**
 * Runs every scenario for both systems (or Sundial alone when `svc` has no Redis), alternating which
 * goes first per repetition; returns the records. `renew` replaces Sundial and the hz-10 Redis in `svc`
 * with fresh ones (before #5, so that its memory figures are the backlog's, not the leftovers of the
 * other scenarios).
 */
export async function runScenarios(svc: Services, o: Options, renew: () => Promise<void>): Promise<RunRecord[]> {
	const p = o.profile;
	const records: RunRecord[] = [];
	const want = (id: string) => o.only === null || o.only.has(id);
	const step: Step = async (scenario, system, variant, rep, fn) => {
		const label = `#${scenario} ${variant ? `${variant} ` : ""}rep ${rep}/${p.reps} ${system}`;
		const record: RunRecord = { scenario, system, variant, rep, values: {}, notes: [] };
		records.push(record);
		if (elapsedS() > o.budgetS) {
			record.notes.push(`skipped: the ${o.budgetS} s time budget was spent`);
			progress(`${label}: skipped (time budget)`);
			return;
		}
		try {
			const run = fn();
			if (typeof run === "string") {
				record.notes.push(run);
				progress(`${label}: ${run}`);
				return;
			}
			record.values = await run;
			if ((record.values.missing ?? 0) > 0) {
				// Sundial says how many of those it still holds: late beyond the window, not lost.
				const held = record.values.pending;
				record.notes.push(
					`${record.values.missing} message(s) did not arrive within the window` +
						(held === undefined ? "" : `; Sundial still holds ${held} as scheduled or in flight (late, not lost)`),
				);
			}
			if ((record.values.early ?? 0) > 0) record.notes.push(`${record.values.early} arrival(s) before due`);
			if ((record.values.publishOverranMs ?? 0) > 0) {
				record.notes.push(`publishing ended ${record.values.publishOverranMs} ms after the first due time`);
			}
			progress(`${label}: ${brief(record.values)}`);
		} catch (err) {
			record.notes.push(`failed: ${err instanceof Error ? err.message : String(err)}`);
			progress(`${label}: FAILED ${String(err)}`);
		}
	};
	const both: Both = async (first, a, b) => {
		for (const f of first ? [a, b] : [b, a]) await f();
	};
	const bulls: [string, RedisServer][] = [];
	if (svc.redis10) bulls.push(["bullmq-hz10", svc.redis10]);
	if (svc.redis100) bulls.push(["bullmq-hz100", svc.redis100]);
	const bull10 = onRedis10(svc);
	/** A step against the baseline (`--baseline`), as its own system; a no-op without one. */
	const onBase =
		(scenario: string, variant: string, rep: number, fn: (base: Services) => Promise<Values>) => async () => {
			const base = onBaseline(svc);
			if (base?.baseline) await step(scenario, base.baseline.system, variant, rep, () => fn(base));
		};
	/** Runs `fns` in order, or in reverse (so that the systems next to Sundial stay next to it). */
	const inTurn = async (forward: boolean, fns: (() => Promise<void>)[]) => {
		for (const f of forward ? fns : [...fns].reverse()) await f();
	};

	for (let rep = 1; rep <= p.reps; rep++) {
		const sundialFirst = rep % 2 === 1;
		const tag = `rep${rep}`;
		if (want("1")) {
			for (const rate of p.rates) {
				const id = `s1-r${rate}-${tag}`;
				await both(
					sundialFirst,
					() =>
						step("1", "sundial", `rate=${rate}`, rep, () =>
							sundialLateness(svc, p, { rate, topic: id, runId: id, mode: "webhook" }),
						),
					() =>
						inTurn(sundialFirst, [
							onBase("1", `rate=${rate}`, rep, (base) =>
								sundialLateness(base, p, { rate, topic: `${id}-base`, runId: `${id}-base`, mode: "webhook" }),
							),
							...bulls.map(([system, redis]) => () => {
								const q = `${id}-${system}`;
								return step("1", system, `rate=${rate}`, rep, () =>
									bullLateness(redis, p, { rate, queue: q, runId: q }),
								);
							}),
						]),
				);
			}
		}
		if (want("2")) {
			for (const rate of p.rates) {
				const id = `s2-r${rate}-${tag}`;
				await step("2", "sundial-pull", `rate=${rate}`, rep, () =>
					sundialLateness(svc, p, { rate, topic: id, runId: id, mode: "pull" }),
				);
			}
		}
		if (want("3")) {
			const id = `s3-${tag}`;
			await both(
				sundialFirst,
				async () => {
					for (const partitions of p.batchPartitions) {
						const variant = partitions === 1 ? "" : pVariant(partitions);
						const topic = partitions === 1 ? id : `${id}-p${partitions}`;
						await step("3", "sundial", variant, rep, () =>
							partitions > 1 && !svc.partitions ? NO_PARTITIONS : sundialBatch(svc, p, topic, topic, false, partitions),
						);
					}
				},
				bull10((redis) => step("3", "bullmq-hz10", "", rep, () => bullAddBulk(redis, p, id, id))),
			);
		}
		if (want("4")) {
			const id = `s4-${tag}`;
			await both(
				sundialFirst,
				() => step("4", "sundial", "", rep, () => sundialSingle(svc, p, id, id)),
				bull10((redis) => step("4", "bullmq-hz10", "", rep, () => bullAdd(redis, p, id, id))),
			);
		}
		if (want("6")) {
			const id = `s6-${tag}`;
			await both(
				sundialFirst,
				() => step("6", "sundial", "", rep, () => sundialPush(svc, p, id, id)),
				() =>
					inTurn(sundialFirst, [
						onBase("6", "", rep, (base) => sundialPush(base, p, `${id}-base`, `${id}-base`)),
						bull10((redis) => step("6", "bullmq-hz10", "", rep, () => bullPush(svc, redis, p, id, id))),
					]),
			);
		}
		if (want("7")) await runScaling(svc, o, rep, step, both);
		if (want("8")) await runDrain(svc, o, rep, step, both);
		if (want("9")) await runV1V2(svc, o, rep, step, both);
		if (want("10") || want("10i")) await runFlow(svc, o, rep, step, both, want("10"));
	}

	if (want("5")) {
		if (records.length > 0) {
			progress("#5 restarting Sundial and Redis (hz 10) with empty state");
			await renew();
		}
		await runBacklog(svc, o, step, both);
	}
	return records;
}

/** Scenario 5: load the backlog into each system once, then per repetition #1 at backlogRate and #3 on it. */
async function runBacklog(svc: Services, o: Options, step: Step, both: Both): Promise<void> {
	const p = o.profile;
	const topic = "s5-backlog";
	const rate = p.backlogRate;
	progress(`#5 loading ${p.backlog.toLocaleString("en")} messages 1–24 h out into each system`);
	const bull10 = onRedis10(svc);
	await step("5", "sundial", "load", 0, () => sundialLoadBacklog(svc, p, topic));
	await bull10((redis) => step("5", "bullmq-hz10", "load", 0, () => bullLoadBacklog(redis, p, topic)))();
	for (let rep = 1; rep <= p.reps; rep++) {
		const id = `s5-rep${rep}`;
		await both(
			rep % 2 === 1,
			async () => {
				await step("5", "sundial", `rate=${rate}`, rep, () =>
					sundialLateness(svc, p, { rate, topic, runId: `${id}-lat`, mode: "webhook", existing: true }),
				);
				await step("5", "sundial", "batch", rep, () => sundialBatch(svc, p, topic, `${id}-pub`, true));
			},
			bull10(async (redis) => {
				await step("5", "bullmq-hz10", `rate=${rate}`, rep, () =>
					bullLateness(redis, p, { rate, queue: topic, runId: `${id}-lat` }),
				);
				await step("5", "bullmq-hz10", "batch", rep, () => bullAddBulk(redis, p, topic, `${id}-pub`));
			}),
		);
	}
	await step("5", "sundial", "memory", 0, () => sundialMemoryNow(svc));
	await bull10((redis) => step("5", "bullmq-hz10", "memory", 0, () => bullMemoryNow(redis)))();
}

/**
 * Scenario 9, one repetition: at each of p.v2Rates, #1's webhook lateness through `/v1` (a topic with
 * one webhook subscription, batch route with absolute `deliver_at`) and the same schedule through
 * `/v2/batch` to the receiver's URL (`Upstash-Delay` in ms), alternating which goes first per
 * repetition. No BullMQ: it compares Sundial's two APIs.
 */
async function runV1V2(svc: Services, o: Options, rep: number, step: Step, both: Both): Promise<void> {
	const p = o.profile;
	for (const rate of p.v2Rates) {
		const id = `s9-r${rate}-rep${rep}`;
		const n = Math.round(rate * p.windowS);
		const v = `rate=${rate}`;
		await both(
			rep % 2 === 1,
			() =>
				step("9", "sundial", v, rep, () =>
					sundialLateness(svc, p, {
						rate,
						topic: id,
						runId: id,
						mode: "webhook",
						leadMs: v2LeadMs(n),
						drainMs: V2_DRAIN_MS,
					}),
				),
			() => step("9", "sundial-v2", v, rep, () => sundialV2Lateness(svc, p, { rate, runId: `${id}-v2` })),
		);
	}
}

/**
 * Scenario 10 (issue 12): isolation alone vs beside a hanging neighbour (alternating first), then
 * (`all`; not for `--only=10i`) rate accuracy and ordering.
 */
async function runFlow(svc: Services, o: Options, rep: number, step: Step, both: Both, all: boolean): Promise<void> {
	const p = o.profile;
	const id = `s10-rep${rep}`;
	await both(
		rep % 2 === 1,
		() =>
			step("10", "sundial", "alone", rep, () => sundialIsolation(svc, p, { topic: `${id}-alone`, neighbour: false })),
		() =>
			step("10", "sundial", "neighbour", rep, () =>
				sundialIsolation(svc, p, { topic: `${id}-neighbour`, neighbour: true }),
			),
	);
	if (!all) return;
	await step("10", "sundial", "rate", rep, () => sundialRateAccuracy(svc, p, `${id}-rate`));
	await step("10", "sundial", "ordering", rep, () => sundialOrdering(svc, p, `${id}-ordering`));
	await step("10", "sundial", "beside", rep, () => sundialOrderingBeside(svc, p, `${id}-beside`));
}
