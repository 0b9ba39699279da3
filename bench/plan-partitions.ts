import { type FetchLoop, startFetchLoop } from "./fetch-loop.ts";
import type { Options } from "./options.ts";
import { type Both, onRedis10, type Step } from "./plan-steps.ts";
import { partitionBound, receiverReset, SENDERS_PER_PARTITION, type Services } from "./scenarios/common.ts";
import { bullDrain, sundialPullDrain } from "./scenarios/drain.ts";
import { bullLateness, sundialLateness } from "./scenarios/lateness.ts";
import { bullPush, sundialPush } from "./scenarios/push.ts";

/** Why a P > 1 run did not happen: this Sundial predates partitions. */
export const NO_PARTITIONS = "skipped: this Sundial rejects `partitions` on PUT /v1/topics (built before issue 10)";

/** The step's label of a partition count. */
export const pVariant = (partitions: number) => `P=${partitions}`;

/** Messages of one scenario 7 push run at P partitions: p.scalingDrainS seconds at their bound. */
export function scalingMessages(o: Options, partitions: number): number {
	const p = o.profile;
	return Math.round(partitionBound(partitions, p.slowReceiverMs) * p.scalingDrainS);
}

/** Due rate of one scenario 7 lateness run at P partitions: p.scalingRateShare of their bound. */
export function scalingRate(o: Options, partitions: number): number {
	const p = o.profile;
	return Math.round(partitionBound(partitions, p.slowReceiverMs) * p.scalingRateShare);
}

/**
 * Scenario 7, one repetition: a receiver that answers every webhook after p.slowReceiverMs. For each
 * P, push throughput (messages due at once into a topic with P partitions; BullMQ: a Worker with
 * concurrency 6·P POSTing to the same receiver), then workerd alone sending with 6·P in flight at the
 * largest P (the local ceiling), then lateness at each P under a due rate below its bound.
 */
export async function runScaling(svc: Services, o: Options, rep: number, step: Step, both: Both): Promise<void> {
	const p = o.profile;
	const sundialFirst = rep % 2 === 1;
	const bull10 = onRedis10(svc);
	const delayMs = p.slowReceiverMs;
	const drainMs = (n: number, partitions: number) =>
		Math.max(20_000, 4 * (n / partitionBound(partitions, delayMs)) * 1000);
	for (const partitions of p.scalingPartitions) {
		const v = pVariant(partitions);
		const id = `s7-push-p${partitions}-rep${rep}`;
		const n = scalingMessages(o, partitions);
		const push = {
			n,
			partitions,
			concurrency: SENDERS_PER_PARTITION * partitions,
			receiverDelayMs: delayMs,
			drainMs: drainMs(n, partitions),
		};
		await both(
			sundialFirst,
			() =>
				step("7", "sundial", `push ${v}`, rep, () =>
					partitions > 1 && !svc.partitions ? NO_PARTITIONS : sundialPush(svc, p, id, id, push),
				),
			bull10((redis) => step("7", "bullmq-hz10", `push ${v}`, rep, () => bullPush(svc, redis, p, id, id, push))),
		);
	}
	const top = Math.max(...p.scalingPartitions);
	await step("7", "workerd-alone", `push ${pVariant(top)}`, rep, () => fetchCeiling(svc, o, top));
	for (const partitions of p.scalingPartitions) {
		const v = pVariant(partitions);
		const id = `s7-late-p${partitions}-rep${rep}`;
		const rate = scalingRate(o, partitions);
		await both(
			sundialFirst,
			() =>
				step("7", "sundial", `lateness ${v}`, rep, () =>
					partitions > 1 && !svc.partitions
						? NO_PARTITIONS
						: sundialLateness(svc, p, {
								rate,
								topic: id,
								runId: id,
								mode: "webhook",
								windowS: p.scalingWindowS,
								partitions,
								receiverDelayMs: delayMs,
							}),
				),
			bull10((redis) =>
				step("7", "bullmq-hz10", `lateness ${v}`, rep, () =>
					bullLateness(redis, p, {
						rate,
						queue: id,
						runId: id,
						windowS: p.scalingWindowS,
						concurrency: SENDERS_PER_PARTITION * partitions,
						webhook: { receiver: svc.receiver, delayMs },
					}),
				),
			),
		);
	}
}

/**
 * workerd with no Sundial code POSTing to the same slow receiver with 6·P in flight (as Sundial signs
 * a webhook): what this machine lets any Worker send, the local ceiling under P partitions.
 */
async function fetchCeiling(svc: Services, o: Options, partitions: number): Promise<Record<string, number>> {
	const path = `/ceiling/p${partitions}`;
	await receiverReset(svc.receiver, path, o.profile.slowReceiverMs);
	const loop: FetchLoop = await startFetchLoop();
	try {
		const n = scalingMessages(o, partitions);
		const inFlight = SENDERS_PER_PARTITION * partitions;
		const perSecond = await loop.rate(`${svc.receiver.url}${path}`, { n, inFlight, mode: "webhook" });
		return { messages: n, perSecond, inFlight, partitions };
	} finally {
		await loop.stop();
	}
}

/** Scenario 8, one repetition: pull drain at each P, then BullMQ's Worker draining the same count. */
export async function runDrain(svc: Services, o: Options, rep: number, step: Step, both: Both): Promise<void> {
	const p = o.profile;
	await both(
		rep % 2 === 1,
		async () => {
			for (const partitions of p.drainPartitions) {
				const id = `s8-p${partitions}-rep${rep}`;
				await step("8", "sundial-pull", pVariant(partitions), rep, () =>
					partitions > 1 && !svc.partitions ? NO_PARTITIONS : sundialPullDrain(svc, p, id, id, partitions),
				);
			}
		},
		onRedis10(svc)((redis) =>
			step("8", "bullmq-hz10", "", rep, () => bullDrain(redis, p, `s8-rep${rep}`, `s8-rep${rep}`)),
		),
	);
}
