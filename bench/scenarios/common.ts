import type { Child } from "../children.ts";
import type { RedisServer } from "../redis.ts";
import type { SundialBench } from "../sundial.ts";
import { sleep } from "../util.ts";

/** Counts and knobs of one bench run (full or smoke). */
export interface Profile {
	smoke: boolean;
	reps: number;
	/** Due rates (messages/s) of scenarios 1 and 2. */
	rates: number[];
	windowS: number;
	/** Scenario 3: messages, batch size, batches in flight (Sundial). */
	batchTotal: number;
	batchSize: number;
	batchInFlight: number;
	/** Scenario 4: requests and requests in flight. */
	singleTotal: number;
	singleInFlight: number;
	/** Scenario 5: messages in the backlog, and the due rate of its lateness run. */
	backlog: number;
	backlogRate: number;
	/** Scenario 6: messages due at once. */
	pushTotal: number;
	/** Long polls the pull consumer keeps out at once. */
	pullPollers: number;
	/** BullMQ Worker concurrency in the lateness runs (and scenario 8's drain). */
	bullConcurrency: number;
	/** Scenario 3: the partitions of the topics batch publish runs on (1 = the scenario as before). */
	batchPartitions: number[];
	/** Scenario 7: partitions per topic, and how late the slow receiver answers. */
	scalingPartitions: number[];
	slowReceiverMs: number;
	/**
	 * Scenario 7 push: messages per run = this many seconds at the bound of P partitions
	 * (P × 6 in flight ÷ the receiver's delay), so each run takes about as long whatever P.
	 */
	scalingDrainS: number;
	/** Scenario 7 lateness: due rate = this share of the bound of P partitions, for scalingWindowS. */
	scalingRateShare: number;
	scalingWindowS: number;
	/** Scenario 8: partitions, messages due at once, long polls out at once. */
	drainPartitions: number[];
	drainTotal: number;
	drainPollers: number;
	/** Scenario 9: due rates of the `/v1` vs `/v2` webhook lateness runs (window: windowS). */
	v2Rates: number[];
	/** Scenario 10: the healthy subscription's due rate (isolation), the rate limit's run (s), and ordering's messages and keys. */
	flowRate: number;
	flowRateS: number;
	orderingMessages: number;
	orderingKeys: number;
	/** Messages on one key for the ordered subscription beside a paused one (scenario 10). */
	besideMessages: number;
}

/** Webhook requests one Durable Object (one partition) keeps in flight at most: src/topic/dispatcher.ts. */
export const SENDERS_PER_PARTITION = 6;

/** Deliveries/s that P partitions can reach at most when the receiver answers `delayMs` late. */
export function partitionBound(partitions: number, delayMs: number): number {
	return (partitions * SENDERS_PER_PARTITION * 1000) / delayMs;
}

/** The receiver process and how to ask it about one path. */
export interface Receiver {
	url: string;
	child: Child;
}

/** Everything a scenario may use. */
export interface Services {
	sundial: SundialBench;
	receiver: Receiver;
	/** Redis with the default hz (10) and with hz 100; null when BullMQ does not run (`--systems=sundial`). */
	redis10: RedisServer | null;
	redis100: RedisServer | null;
	/** This Sundial takes `partitions` on its topics (else only P = 1 runs, and the rest says why). */
	partitions: boolean;
	/** Sundial at an earlier commit (`--baseline`), run beside the current one in #1 and #6; null = none. */
	baseline: Baseline | null;
}

/** Sundial at an earlier commit, running (`--baseline`, bench/baseline.ts). */
export interface Baseline {
	/** As given (`efee641`, `v1.2`, `HEAD~3`). */
	ref: string;
	/** The full commit it resolves to. */
	commit: string;
	/** Its system name in the run records: `sundial@<ref>`. */
	system: string;
	sundial: SundialBench;
}

/** One measured repetition of one figure set. */
export interface RunRecord {
	/** Scenario id: "1" … "9". */
	scenario: string;
	/** "sundial", "sundial-pull", "sundial-v2" (#9), "bullmq-hz10", "bullmq-hz100", "workerd-alone". */
	system: string;
	/** What varies within the scenario, e.g. "rate=1000" (empty when nothing). */
	variant: string;
	rep: number;
	values: Record<string, number>;
	notes: string[];
	/** Set on a record carried over from an earlier run's results: that run (bench/report-carry.ts). */
	from?: string;
}

/** What the receiver saw on one path since its reset. */
export type ReceiverRecords = {
	ids: string[];
	at: number[];
	/** Per request: answered 2xx (a path with a `failRate` answers some 500). */
	ok: boolean[];
	maxConcurrent: number;
	/** TCP connections the receiver accepted meanwhile (on any path). */
	connections: number;
};

/**
 * Forgets what `path` received; from now on the receiver answers there after `delayMs` (0 = at
 * once), failing a `failRate` share of requests with a 500.
 */
export async function receiverReset(r: Receiver, path: string, delayMs = 0, failRate = 0): Promise<void> {
	await r.child.ask({ type: "reset", path, delayMs, failRate }, "reset");
}

export async function receiverCount(r: Receiver, path: string): Promise<number> {
	return (await r.child.ask<{ type: string; n: number }>({ type: "count", path }, "count")).n;
}

export async function receiverCollect(r: Receiver, path: string): Promise<ReceiverRecords> {
	return r.child.ask<ReceiverRecords & { type: string }>({ type: "collect", path }, "records", 60_000);
}

/** A child (receiver, worker, consumer) that can report a count and its records. */
export async function childCount(c: Child, path = ""): Promise<number> {
	return (await c.ask<{ type: string; n: number }>({ type: "count", path }, "count")).n;
}

/**
 * Waits until `count()` reaches `target`, or nothing new arrived for `idleMs` after `notBeforeMs`
 * (quiet time before it does not count: a sender that starts late is not given up on at once),
 * or `deadlineMs` passed. Returns the last count.
 */
export async function waitForCount(
	count: () => Promise<number>,
	target: number,
	notBeforeMs: number,
	deadlineMs: number,
	idleMs = 3_000,
): Promise<number> {
	let last = -1;
	let lastChangeMs = Date.now();
	for (;;) {
		const n = await count();
		const now = Date.now();
		if (n !== last) {
			last = n;
			lastChangeMs = now;
		}
		if (n >= target || now > deadlineMs) return n;
		if (now > notBeforeMs && now - Math.max(lastChangeMs, notBeforeMs) > idleMs) return n;
		await sleep(n === 0 && now < notBeforeMs - 200 ? 100 : 25);
	}
}

/** Due times of a lateness run: `rate`/s for `windowS` seconds starting at `startMs` (whole ms). */
export function schedule(rate: number, windowS: number, startMs: number): number[] {
	const n = Math.round(rate * windowS);
	return Array.from({ length: n }, (_, i) => startMs + Math.floor((i * 1000) / rate));
}

/**
 * How far ahead to start a schedule of `n` messages so publishing ends before the first is due:
 * 1.5 s plus 0.25 ms per message (assumes ≥ 4,000 msg/s; a run that overran says so).
 */
export function leadMs(n: number): number {
	return 1500 + Math.ceil(n / 4);
}

/** Splits 0..n-1 into chunks of `size`: [[start, end), …]. */
export function chunks(n: number, size: number): [number, number][] {
	const out: [number, number][] = [];
	for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
	return out;
}
