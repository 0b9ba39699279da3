import { afterFailure } from "../delivery/classify";
import { MAX_CONCURRENT_DELIVERIES } from "../delivery/pool";
import { type AttemptFailure, expiredFailure, logFailure, recordedFailure } from "./attempt-log";
import { leaseExpiredCallbacks } from "./dispatch-qstash";
import { type Task, type TaskDeps, tasksFor } from "./dispatch-tasks";
import type { AttemptRecord, ClaimedDelivery, ExpiredLease, SubscriptionRow, TopicStore } from "./store";
import type { TailFeed } from "./tail-feed";
import type { CallbackSink } from "./types";

/** Deliveries claimed per round: small enough to keep lateness low, big enough to batch SQL. */
export const CLAIM_BATCH = 48;
/**
 * How far ahead of their due time deliveries are claimed. The claim's commit (which outgoing
 * requests wait for) then happens before the due time, and each attempt waits in memory for its
 * exact due millisecond: never early, and late by the fetch alone. 20 ms rather than 5: where
 * deliveries are sparse per object (a topic of 16 partitions at 1,000/s is 62/s each) one claim
 * then takes several, and the transactions per delivery drop; `/v2` p50 lateness at 1,000/s went
 * from 13 to 2 ms on the bench machine (docs/BENCHMARKS.md #9). A cancel or reschedule in the last
 * 20 ms before the due time finds the delivery in flight.
 */
export const CLAIM_AHEAD_MS = 20;
/** Flow control as the dispatcher uses it (flow.ts FlowControl). */
export interface Flow {
	/** False: one push subscription and no limits; claims take the single-query path. */
	active(): boolean;
	claim(nowMs: number, aheadMs: number, limit: number, leaseUntilMs: (sid: number) => number): ClaimedDelivery[];
	nextAtMs(nowMs: number, aheadMs: number): number | null;
	/** Attempts ended: a rate window counts each from its answer on (flow.ts). */
	settle(records: readonly AttemptRecord[], nowMs: number): void;
	/** Leases ended without an outcome: their attempts' starts are dated now (flow.ts). */
	leasesExpired(leases: readonly { mid: number; sid: number; lease: number }[], nowMs: number): void;
	/** The transaction that claimed or settled ended: what flow control noted in memory stands or goes. */
	afterTransaction(committed: boolean): void;
}

/** Runs `fn` in a storage transaction and tells flow control whether it committed. */
function inTransaction<T>(deps: Pick<DispatchDeps, "store" | "flow">, fn: () => T): T {
	let committed = false;
	try {
		const out = deps.store.transaction(fn);
		committed = true;
		return out;
	} finally {
		deps.flow?.afterTransaction(committed);
	}
}

/**
 * When the alarm is next needed for deliveries: CLAIM_AHEAD_MS before the earliest due push
 * delivery or lease expiry (the one place the claim lead is applied to pending work); with flow
 * control, the earliest a held subscription may go on.
 */
export function nextWorkAtMs(store: TopicStore, flow?: Flow): number | null {
	if (flow?.active()) return flow.nextAtMs(Date.now(), CLAIM_AHEAD_MS);
	const at = store.nextPendingAtMs();
	return at === null ? null : claimAtMs(at);
}

/** When the alarm must fire to send a delivery due at `dueMs` on time. */
export function claimAtMs(dueMs: number): number {
	return dueMs - CLAIM_AHEAD_MS;
}

/** How long past an attempt's timeout a push lease lasts before the delivery is retried. */
export const LEASE_GRACE_MS = 2000;
/** Wall time one alarm run spends delivering before it re-arms and yields. */
export const ALARM_BUDGET_MS = 30_000;
/**
 * When the next delivery is due this soon, the alarm run waits for it in memory instead of
 * ending and being woken again: at high due rates this keeps lateness at a few milliseconds.
 */
export const HOT_WAIT_MS = 50;
/**
 * How long an alarm run may keep waiting in memory without claiming anything (bounds the hot
 * wait, e.g. when the earliest due delivery cannot be claimed).
 */
const MAX_IDLE_MS = 1000;
/** While attempts are in flight, how often an idle sender looks again for work (a publish wakes it sooner). */
const IDLE_NAP_MS = 250;

/** What the dispatcher needs from its object. */
export interface DispatchDeps extends TaskDeps {
	store: TopicStore;
	subscriptions: () => Map<number, SubscriptionRow>;
	maxDeliveries: number;
	/** Makes the alarm fire by `atMs` (the crash safety net for leases just taken). */
	wakeBy: (atMs: number) => Promise<void>;
	/** Runs after every claim transaction, whatever it claimed (wakes waiting pull consumers). */
	afterRound?: () => Promise<void>;
	/** Flow control (limits and isolation between subscriptions); absent: none. */
	flow?: Flow;
	/** Where the `/v2` callbacks of recorded attempts are written (callback-outbox.ts). */
	callbacks?: CallbackSink;
	/** Gets the run's wake-up (a publish calls it: something may be due sooner), then null when the run ends. */
	onWake?: (wake: (() => void) | null) => void;
	/** The live tail: told of attempts only while someone listens; sent a batch after every round. */
	tail?: TailFeed;
	/**
	 * Takes an attempt still in flight when the run ends (its budget or `maxDeliveries` spent) and
	 * records it when it ends: the run ends without it, so a receiver that hangs to its timeout does
	 * not hold the next run, and with it every other subscription (flow.ts, isolation). Absent: the
	 * run waits for it.
	 */
	carry?: (attempt: Promise<AttemptRecord[]>) => void;
	/** Carried attempts (of earlier runs) still waiting for an answer: they hold request slots too. */
	carriedInFlight?: () => number;
}

/** What recording outcomes needs from the dispatcher's deps. */
type RecordDeps = Pick<DispatchDeps, "store" | "flow" | "callbacks" | "tail" | "topicName" | "subscriptions">;

/**
 * Records ended attempts in the caller's transaction: outcome (and metrics), rate windows, callbacks,
 * the live tail. Failed ones go to `failures`, to be logged once the transaction committed.
 */
function recordIn(
	deps: RecordDeps,
	recorded: AttemptRecord[],
	nowMs: number,
	failures: AttemptFailure[],
	tail = deps.tail?.listening(nowMs) ? deps.tail : undefined,
): void {
	const subs = deps.subscriptions();
	deps.store.recordAttempts(recorded, nowMs, deps.callbacks, (r) => {
		tail?.recorded(r, nowMs);
		if (r.kind === "delivered") return; // nothing to log
		const failure = recordedFailure(r, subs.get(r.sid)?.name ?? `#${r.sid}`);
		if (failure) failures.push(failure);
	});
	deps.flow?.settle(recorded, nowMs);
}

/** Logs what failed (attempt-log.ts), after its transaction committed. */
function logFailures(topicName: string, failures: AttemptFailure[]): void {
	for (const f of failures) logFailure(topicName, f);
}

/** Records ended attempts (outcome, rate windows, callbacks, the live tail) in one transaction, then logs failures. */
export function recordOutcomes(deps: RecordDeps, outcomes: AttemptRecord[]): void {
	if (outcomes.length === 0) return;
	const nowMs = Date.now();
	const recorded = outcomes.splice(0);
	const failures: AttemptFailure[] = [];
	inTransaction(deps, () => recordIn(deps, recorded, nowMs, failures));
	logFailures(deps.topicName, failures);
}

/** What a sender's wait for an answer gives when the run ended first (the attempt is carried). */
const CARRIED = Symbol("carried");

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The lease a push attempt holds: its timeout plus grace. */
export function pushLeaseMs(sub: SubscriptionRow | undefined): number {
	return (sub?.config.timeoutMs ?? 30_000) + LEASE_GRACE_MS;
}

/**
 * Delivers what is due as one pipeline: six senders (the most requests one object may have
 * waiting, PLATFORM.md §1) take attempts from a shared buffer; whichever sender finds it empty
 * refills it in one transaction that records the outcomes gathered so far and claims the next
 * batch. So requests stay in flight while a batch is claimed, instead of the pool draining at the
 * end of every round. Ends when nothing is due within HOT_WAIT_MS, at `maxDeliveries` attempts or
 * after ALARM_BUDGET_MS; returns how many deliveries were attempted.
 */
export async function dispatchDue(deps: DispatchDeps): Promise<number> {
	const startedMs = Date.now();
	const ready: Task[] = [];
	const outcomes: AttemptRecord[] = [];
	let attempts = 0;
	let refilling: Promise<boolean> | null = null;
	let lastClaimMs = startedMs;
	let refills = 0;
	/** Attempts being sent right now. */
	let running = 0;
	// Sleeping senders wake when their time comes, an attempt ends (capacity frees) or `wake()` is called.
	let wakeUp: () => void = () => {};
	let woken = new Promise<void>((resolve) => (wakeUp = resolve));
	// When work is next claimable, computed again only after something changed (a refill, an attempt
	// ended, a publish): with flow control it is several queries, and idle senders ask it often.
	let nextCache: { at: number | null } | null = null;
	const nextWork = (): number | null => {
		nextCache ??= { at: nextWorkAtMs(deps.store, deps.flow) };
		return nextCache.at;
	};
	const wake = () => {
		nextCache = null;
		wakeUp();
		woken = new Promise<void>((resolve) => (wakeUp = resolve));
	};
	const nap = (ms: number) => Promise.race([sleep(ms), woken]);
	deps.onWake?.(wake);
	// Resolves when the run ends: senders still waiting for an answer then hand their attempt over.
	let endRun: () => void = () => {};
	const ended = new Promise<typeof CARRIED>((resolve) => (endRun = () => resolve(CARRIED)));

	/** Records outcomes and claims a batch; false when nothing was due. */
	const refill = async (): Promise<boolean> => {
		refills++;
		const nowMs = Date.now();
		const subs = deps.subscriptions();
		let leaseEndMs = nowMs;
		const recorded = outcomes.splice(0);
		const tail = deps.tail?.listening(nowMs) ? deps.tail : undefined;
		const failures: AttemptFailure[] = [];
		const expired: ExpiredLease[] = [];
		const batch = inTransaction(deps, () => {
			recordIn(deps, recorded, nowMs, failures, tail);
			deps.store.expireLeases(
				nowMs,
				CLAIM_BATCH,
				(sid, used, qstashRetries) => {
					const sub = subs.get(sid);
					// A `/v2` message to a webhook is attempted at most 1 + its own retries (QStash's rule).
					const max =
						qstashRetries !== null && sub?.config.type === "webhook"
							? qstashRetries + 1
							: sub?.config.retry.maxAttempts;
					if (!sub || max === undefined || used >= max) return null;
					// A push lease only outlives its attempt when the instance died: retry at once.
					return sub.config.type === "pull" ? afterFailureAt(sub, used, nowMs) : nowMs;
				},
				(dead) => deps.callbacks?.write(leaseExpiredCallbacks(deps.store, dead, subs, deps.topicName, nowMs), nowMs),
				(e) => {
					tail?.leaseExpired(e, nowMs);
					failures.push(expiredFailure(e, subs.get(e.sid)?.name ?? `#${e.sid}`));
					expired.push(e);
				},
			);
			deps.flow?.leasesExpired(expired, nowMs);
			const dueBy = nowMs + CLAIM_AHEAD_MS;
			const limit = Math.min(CLAIM_BATCH, deps.maxDeliveries - attempts);
			const leaseUntil = (sid: number) => {
				const until = nowMs + pushLeaseMs(subs.get(sid));
				leaseEndMs = Math.max(leaseEndMs, until);
				return until;
			};
			if (deps.flow?.active()) return deps.flow.claim(nowMs, CLAIM_AHEAD_MS, limit, leaseUntil);
			return deps.store.claimDue(dueBy, limit, leaseUntil, nowMs);
		});
		nextCache = null;
		logFailures(deps.topicName, failures);
		deps.tail?.flush();
		// Wakes waiting pull consumers: this round may have ended leases or recorded nacks.
		await deps.afterRound?.();
		if (batch.length === 0) return false;
		lastClaimMs = Date.now();
		attempts += batch.length;
		// If this instance dies mid-batch, the alarm must still fire for what else is due, and at
		// the latest when these leases end.
		await deps.wakeBy(Math.min(leaseEndMs, nextWork() ?? leaseEndMs));
		const { tasks, immediate } = tasksFor(deps, subs, batch);
		outcomes.push(...immediate);
		ready.push(...tasks);
		ready.sort((x, y) => x.dueAtMs - y.dueAtMs);
		return true;
	};

	/** One refill at a time; concurrent callers share its result. */
	const refillOnce = (): Promise<boolean> => {
		if (!refilling) refilling = refill().finally(() => (refilling = null));
		return refilling;
	};

	const sender = async (): Promise<void> => {
		for (;;) {
			// The buffer is in due order: when its head is not due yet, nothing is. Wait for it without
			// taking it, so a sender is never held by a request that may not leave yet.
			const head = ready[0];
			if (head) {
				const waitMs = head.dueAtMs - Date.now();
				if (waitMs > 0) {
					await nap(waitMs);
					continue;
				}
				// Carried attempts hold slots too: never more than 6 requests out at once.
				if (running + (deps.carriedInFlight?.() ?? 0) >= MAX_CONCURRENT_DELIVERIES) {
					await nap(IDLE_NAP_MS);
					continue;
				}
				ready.shift();
				running++;
				// The live tail hears of the attempt only if someone listens as it starts (one check otherwise).
				const tail = deps.tail?.listening() ? deps.tail : null;
				const startedMs = tail ? Date.now() : 0;
				tail?.attemptsStarted(head.claims, startedMs);
				const attempt = head.run().then((records) => {
					tail?.attemptsEnded(head.claims, records, startedMs);
					return records;
				});
				try {
					const records = await (deps.carry ? Promise.race([attempt, ended]) : attempt);
					// Carried: the sender moves on (to what else was claimed, then to the run's end).
					if (records === CARRIED) deps.carry?.(attempt);
					else outcomes.push(...records);
				} finally {
					running--;
					wake();
				}
				continue;
			}
			if (attempts >= deps.maxDeliveries || Date.now() - startedMs >= ALARM_BUDGET_MS) {
				// A refill under way brings claimed deliveries: they go out (and count) before the end, so
				// only attempts that started before it are ever carried.
				if (refilling) {
					await refilling;
					continue;
				}
				endRun();
				wake();
				break;
			}
			// A refill is a transaction: take one only when something is claimable or outcomes wait to be
			// recorded, not each time a sender finds the buffer empty (with many partitions of one topic
			// each claiming one delivery a round, those empty transactions doubled the commits).
			let next = nextWork();
			let claimed: boolean | null = null;
			// The run's first refill always happens: it ends expired leases and wakes pull consumers. A
			// refill under way is joined: it may bring work for this sender too.
			if (refilling || refills === 0 || (next !== null && next <= Date.now()) || outcomes.length > 0) {
				claimed = await refillOnce();
				if (claimed) continue;
				next = nextWork();
			}
			// Nothing due now: wait in memory for what is due very soon, else end this run.
			const waitMs = next === null ? Number.POSITIVE_INFINITY : next - Date.now();
			// Work looks due but the claim took none (what it may use is held): wait for an attempt to
			// end or a wake-up, not in a loop of empty claims.
			const held = claimed === false && waitMs <= 0;
			// Idle time counts for the whole run, not per sender: a sender that keeps finding the buffer
			// emptied by the others is not idle, and must not leave (that left one sender at 1,000/s).
			if (held || waitMs > HOT_WAIT_MS || Date.now() - lastClaimMs > MAX_IDLE_MS) {
				// While attempts are in flight the run goes on anyway: stay, so what becomes due meanwhile,
				// or is freed when one ends, does not wait for them (a hanging receiver's timeouts).
				if (running === 0) break;
				await nap(held ? IDLE_NAP_MS : Math.min(waitMs, IDLE_NAP_MS));
				continue;
			}
			await nap(Math.max(1, waitMs));
		}
	};

	const settled = await Promise.allSettled(Array.from({ length: MAX_CONCURRENT_DELIVERIES }, sender));
	deps.onWake?.(null);
	// The outcomes gathered since the last refill. (Outcomes a failed refill had taken are left to
	// lease expiry, as after a crash: those deliveries are retried.)
	recordOutcomes(deps, outcomes);
	deps.tail?.flush();
	const failed = settled.find((r) => r.status === "rejected");
	if (failed) throw failed.reason;
	return attempts;
}

function afterFailureAt(sub: SubscriptionRow, attempt: number, nowMs: number): number | null {
	const next = afterFailure(sub.config.retry, attempt, null, nowMs);
	return next.kind === "retry" ? next.atMs : null;
}
