import { createTopic, publishBatch, type SundialBench } from "../sundial.ts";
import { inParallel } from "../util.ts";
import {
	chunks,
	type Profile,
	receiverCollect,
	receiverCount,
	receiverReset,
	type Services,
	waitForCount,
} from "./common.ts";
import { hookPath, type LatenessValues, sundialLateness } from "./lateness.ts";

/**
 * Scenario 10 (issue 12, flow control), Sundial only (a BullMQ peer would measure its paid group
 * limits): isolation (a healthy subscription's lateness alone and beside one whose receiver hangs to
 * its timeout), rate accuracy (a limit of 100/s over 30 s) and ordering under failures (10,000
 * messages over 100 keys, the receiver failing 20 % at random).
 */

/** How long the ordering run may take before what is left counts as undelivered. */
const ORDERING_DEADLINE_MS = 600_000;

/** How long the neighbour's receiver holds each request; its subscription times out then. */
const HANG_MS = 10_000;

async function putSub(s: SundialBench, topic: string, name: string, body: unknown): Promise<void> {
	const res = await s.api("PUT", `/v1/topics/${topic}/subscriptions/${name}`, body);
	if (res.status !== 201 && res.status !== 200) {
		throw new Error(`PUT subscription ${topic}/${name}: ${res.status} ${JSON.stringify(res.body)}`);
	}
}

/** A topic with one webhook subscription "s" (plus `extra` settings) to a fresh receiver path; returns the path. */
async function topicWithHook(svc: Services, topic: string, extra: object, failRate = 0): Promise<string> {
	const path = hookPath(topic);
	await svc.sundial.api("PUT", `/v1/topics/${topic}`, {});
	await putSub(svc.sundial, topic, "s", { type: "webhook", url: `${svc.receiver.url}${path}`, ...extra });
	await receiverReset(svc.receiver, path, 0, failRate);
	return path;
}

/** Deletes a topic (stops what it still had to do: a hanging neighbour's backlog). */
async function dropTopic(s: SundialBench, topic: string): Promise<void> {
	await s.api("DELETE", `/v1/topics/${topic}`);
}

/**
 * Isolation: #1's webhook lateness at `p.flowRate`/s on a topic's subscription "s", alone or with a
 * neighbour "hang" whose receiver answers only after its 10 s timeout (one attempt, then dead).
 */
export async function sundialIsolation(
	svc: Services,
	p: Profile,
	o: { topic: string; neighbour: boolean },
): Promise<LatenessValues> {
	const s = svc.sundial;
	await createTopic(s, o.topic, "s", `${svc.receiver.url}${hookPath(o.topic)}`);
	if (o.neighbour) {
		const hang = `/hang/${o.topic}`;
		await receiverReset(svc.receiver, hang, HANG_MS);
		await putSub(s, o.topic, "hang", {
			type: "webhook",
			url: `${svc.receiver.url}${hang}`,
			timeout: `${HANG_MS / 1000}s`,
			retry: { max_attempts: 1 },
		});
	}
	try {
		return await sundialLateness(svc, p, {
			rate: p.flowRate,
			topic: o.topic,
			runId: o.topic,
			mode: "webhook",
			existing: true,
			drainMs: 10_000,
		});
	} finally {
		await dropTopic(s, o.topic);
	}
}

/** Publishes `items` to `topic` in batches, a few in flight. */
/**
 * Publishes `items` in batches. `inOrder`: one batch after another, so publish order is item order
 * (what the ordering runs check arrivals against); else `p.batchInFlight` at once.
 */
async function publishAll(
	s: SundialBench,
	p: Profile,
	topic: string,
	items: readonly unknown[],
	inOrder = false,
): Promise<void> {
	const parts = chunks(items.length, p.batchSize);
	await inParallel(parts.length, inOrder ? 1 : p.batchInFlight, async (k) => {
		const [a, b] = parts[k] as [number, number];
		await publishBatch(s, topic, items.slice(a, b));
	});
}

/** Counts in each whole `windowMs` from the first arrival, and the most in any sliding window of that length. */
export function windowCounts(at: readonly number[], windowMs: number): { min: number; max: number; sliding: number } {
	const sorted = [...at].sort((a, b) => a - b);
	const first = sorted[0] ?? 0;
	const last = sorted[sorted.length - 1] ?? 0;
	const whole = Math.floor((last - first) / windowMs);
	const counts = Array.from({ length: whole }, () => 0);
	for (const t of sorted) {
		const k = Math.floor((t - first) / windowMs);
		if (k < whole) counts[k] = (counts[k] ?? 0) + 1;
	}
	let sliding = 0;
	for (let i = 0, j = 0; i < sorted.length; i++) {
		while ((sorted[i] as number) - (sorted[j] as number) >= windowMs) j++;
		sliding = Math.max(sliding, i - j + 1);
	}
	return { min: counts.length ? Math.min(...counts) : 0, max: counts.length ? Math.max(...counts) : 0, sliding };
}

/** Rate accuracy: `flowRate × flowRateS` messages due at once to a subscription limited to `flowRate` per 1 s. */
export async function sundialRateAccuracy(svc: Services, p: Profile, topic: string): Promise<LatenessValues> {
	const s = svc.sundial;
	const path = await topicWithHook(svc, topic, { rate: { limit: p.flowRate, period: "1s" } });
	const n = p.flowRate * p.flowRateS;
	try {
		await publishAll(
			s,
			p,
			topic,
			Array.from({ length: n }, (_, i) => ({ id: `${topic}-${i}`, body: { i } })),
		);
		const startMs = Date.now();
		await waitForCount(
			() => receiverCount(svc.receiver, path),
			n,
			startMs + p.flowRateS * 1000,
			startMs + p.flowRateS * 1000 + 15_000,
		);
		const rec = await receiverCollect(svc.receiver, path);
		const w = windowCounts(rec.at, 1000);
		return {
			expected: n,
			received: new Set(rec.ids).size,
			perSecondMin: w.min,
			perSecondMax: w.max,
			slidingMax: w.sliding,
			durationS: (Math.max(...rec.at) - Math.min(...rec.at)) / 1000,
		};
	} finally {
		await dropTopic(s, topic);
	}
}

/**
 * Ordering under failures: `orderingMessages` over `orderingKeys` keys, due at once, to an
 * `ordering: "key"` subscription whose receiver fails 20 % at random (fixed 50 ms retries). Counts,
 * per key by publish sequence, every attempt that arrived before its predecessor was delivered.
 */
export async function sundialOrdering(svc: Services, p: Profile, topic: string): Promise<LatenessValues> {
	const s = svc.sundial;
	const path = await topicWithHook(
		svc,
		topic,
		{ ordering: "key", retry: { max_attempts: 30, backoff: "fixed", base: "50ms" } },
		0.2,
	);
	const n = p.orderingMessages;
	const keys = p.orderingKeys;
	const startMs = Date.now();
	try {
		await publishAll(
			s,
			p,
			topic,
			Array.from({ length: n }, (_, i) => ({
				id: `k${i % keys}-${Math.floor(i / keys)}`,
				key: `k${i % keys}`,
				body: { i },
			})),
			true,
		);
		const delivered = async () => {
			const res = await s.api<{ counts: { delivered: number; dead: number } }>(
				"GET",
				`/v1/topics/${topic}/subscriptions/s`,
			);
			return res.body.counts.delivered + res.body.counts.dead;
		};
		await waitForCount(delivered, n, Date.now() + 5_000, Date.now() + ORDERING_DEADLINE_MS);
		const finishedMs = Date.now();
		const rec = await receiverCollect(svc.receiver, path);
		const next = new Map<string, number>();
		let outOfOrder = 0;
		const ok = new Set<string>();
		let duplicates = 0;
		rec.ids.forEach((id, i) => {
			const [key, seqText] = id.split("-") as [string, string];
			const seq = Number(seqText);
			if (seq !== (next.get(key) ?? 0)) outOfOrder++;
			if (rec.ok[i]) {
				if (ok.has(id)) duplicates++;
				ok.add(id);
				next.set(key, Math.max(next.get(key) ?? 0, seq + 1));
			}
		});
		return {
			expected: n,
			delivered: ok.size,
			undelivered: n - ok.size,
			outOfOrder,
			duplicates,
			attempts: rec.ids.length,
			failedAttempts: rec.ok.filter((x) => !x).length,
			durationS: (finishedMs - startMs) / 1000,
		};
	} finally {
		await dropTopic(s, topic);
	}
}

/**
 * Ordering beside a paused subscription: `besideMessages` on ONE key, due at once, to an
 * `ordering: "key"` subscription while a second subscription of the topic is paused, so every
 * message stays open (delivered to one subscription, pending for the other). Each claim must find
 * the key's head among thousands of open messages: the cost an index on pending keyed deliveries
 * keeps to one probe (schema v7). Reports the time to deliver all to the ordered one.
 */
export async function sundialOrderingBeside(svc: Services, p: Profile, topic: string): Promise<LatenessValues> {
	const s = svc.sundial;
	const path = await topicWithHook(svc, topic, { ordering: "key" });
	await putSub(s, topic, "paused", { type: "webhook", url: `${svc.receiver.url}/never/${topic}`, paused: true });
	const n = p.besideMessages;
	const startMs = Date.now();
	try {
		await publishAll(
			s,
			p,
			topic,
			Array.from({ length: n }, (_, i) => ({ id: `one-${i}`, key: "one", body: { i } })),
			true,
		);
		const delivered = async () => {
			const res = await s.api<{ counts: { delivered: number } }>("GET", `/v1/topics/${topic}/subscriptions/s`);
			return res.body.counts.delivered;
		};
		await waitForCount(delivered, n, Date.now() + 5_000, Date.now() + ORDERING_DEADLINE_MS);
		const finishedMs = Date.now();
		const rec = await receiverCollect(svc.receiver, path);
		let outOfOrder = 0;
		rec.ids.forEach((id, i) => {
			if (Number(id.split("-")[1]) !== i) outOfOrder++;
		});
		return {
			expected: n,
			delivered: rec.ids.length,
			undelivered: n - rec.ids.length,
			outOfOrder,
			durationS: (finishedMs - startMs) / 1000,
		};
	} finally {
		await dropTopic(s, topic);
	}
}
