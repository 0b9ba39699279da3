import { lateness } from "../stats.ts";
import type { SundialBench } from "../sundial.ts";
import { inParallel } from "../util.ts";
import {
	chunks,
	type Profile,
	receiverCollect,
	receiverCount,
	receiverReset,
	type Services,
	schedule,
	waitForCount,
} from "./common.ts";
import { hookPath, type LatenessValues } from "./lateness.ts";

/** How long after the last due time a #9 run may keep waiting for stragglers (the run stays bounded). */
export const V2_DRAIN_MS = 10_000;

/**
 * Lead of a #9 schedule of `n` messages, for /v1 and /v2 alike: 1.5 s plus 0.5 ms per message (twice
 * leadMs's allowance, as /v2 batch items each carry their headers; a run that overran says so).
 */
export function v2LeadMs(n: number): number {
	return 1500 + Math.ceil(n / 2);
}

/**
 * The instant (ms) a `/v2` message id was minted: Sundial's ids are `msg_` + that instant in base 36
 * + 20 hex digits (src/publish/normalize.ts, newMessageId); NaN for another shape. The publish's
 * due time is that instant + its `Upstash-Delay` (src/http/v2/publish.ts reads the delay against the
 * same `nowMs`); the run checks this against `GET /v2/messages/{id}`'s `notBefore` on a few messages.
 */
export function mintedAtMs(messageId: string): number {
	const m = /^msg_([0-9a-z]+)[0-9a-f]{20}$/.exec(messageId);
	return m ? Number.parseInt(m[1] as string, 36) : Number.NaN;
}

interface V2Answer {
	messageId?: string;
	error?: string;
}

/** Publishes one `/v2/batch` (≤ 1000 items); returns the message ids in order; throws on any error. */
async function publishV2Batch(s: SundialBench, items: readonly unknown[]): Promise<string[]> {
	const res = await s.api<V2Answer[]>("POST", "/v2/batch", items);
	if (res.status !== 200) throw new Error(`/v2/batch: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
	const ids = res.body.map((a) => a.messageId);
	const bad = res.body.find((a) => typeof a.messageId !== "string");
	if (bad || ids.length !== items.length) {
		throw new Error(`/v2/batch: item(s) not published, e.g. ${JSON.stringify(bad).slice(0, 300)}`);
	}
	return ids as string[];
}

export interface V2LatenessOptions {
	rate: number;
	/** Unique per run: the receiver path is hookPath(runId). */
	runId: string;
	windowS?: number;
}

/**
 * Scenario 9, `/v2` side: the #1 schedule (`rate`/s × window, all published before the first is due)
 * through `/v2/batch` with destination = the receiver's URL and `Upstash-Delay: <due − now>ms` (ms
 * precision; `Upstash-Not-Before` is whole seconds). Sundial reads the delay against its own clock, so
 * each message's exact due time is its id's minting instant + the delay it was sent with (checked
 * against `GET /v2/messages/{id}`). Lateness = arrival at the receiver − that due time, deliveries
 * matched by `Upstash-Message-Id`.
 */
export async function sundialV2Lateness(svc: Services, p: Profile, o: V2LatenessOptions): Promise<LatenessValues> {
	const s = svc.sundial;
	const path = hookPath(o.runId);
	const url = `${svc.receiver.url}${path}`;
	await receiverReset(svc.receiver, path, 0);
	const windowS = o.windowS ?? p.windowS;
	const n = Math.round(o.rate * windowS);
	const startMs = Date.now() + v2LeadMs(n);
	const dues = schedule(o.rate, windowS, startMs);
	const dueById = new Map<string, number>();
	const parts = chunks(n, p.batchSize);
	await inParallel(parts.length, p.batchInFlight, async (k) => {
		const [a, b] = parts[k] as [number, number];
		const sentAt = Date.now();
		const delays: number[] = [];
		const items = [];
		for (let i = a; i < b; i++) {
			const delay = Math.max(0, (dues[i] as number) - sentAt);
			delays.push(delay);
			items.push({
				destination: url,
				headers: { "Content-Type": "application/json", "Upstash-Delay": `${delay}ms` },
				body: JSON.stringify({ i }),
			});
		}
		const ids = await publishV2Batch(s, items);
		ids.forEach((id, j) => {
			const minted = mintedAtMs(id);
			if (!Number.isFinite(minted)) throw new Error(`/v2 message id ${id} does not carry its minting instant`);
			dueById.set(id, minted + (delays[j] as number));
		});
	});
	const publishOverranMs = Math.max(0, Date.now() - startMs);
	const lastDue = Math.max(startMs, ...dueById.values());
	const checked = await checkDueTimes(s, dueById);
	await waitForCount(() => receiverCount(svc.receiver, path), n, lastDue + 500, lastDue + V2_DRAIN_MS);
	const rec = await receiverCollect(svc.receiver, path);
	const l = lateness(n, rec.ids, rec.at, (id) => dueById.get(id));
	return { rate: o.rate, ...l, publishOverranMs, maxConcurrent: rec.maxConcurrent, dueChecked: checked };
}

/**
 * Compares the computed due time of the 3 latest-due messages (still pending) with Sundial's own
 * (`notBefore` of `GET /v2/messages/{id}`); throws on a difference. Returns how many agreed.
 */
async function checkDueTimes(s: SundialBench, dueById: Map<string, number>): Promise<number> {
	const latest = [...dueById.entries()].sort((x, y) => y[1] - x[1]).slice(0, 3);
	let agreed = 0;
	for (const [id, due] of latest) {
		const res = await s.api<{ notBefore?: number }>("GET", `/v2/messages/${id}`);
		if (res.status === 404) continue; // delivered meanwhile
		if (res.status !== 200 || res.body.notBefore !== due) {
			throw new Error(`due time of ${id}: computed ${due}, Sundial says ${res.status} ${JSON.stringify(res.body)}`);
		}
		agreed++;
	}
	return agreed;
}
