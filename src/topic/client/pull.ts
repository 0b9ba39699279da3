import type { PulledMessage } from "../pull";
import type { Route } from "../types";
import type { Door } from "./door";
import { outerReceipt, splitReceipt } from "./routing";

/** What a receive asks for. */
export interface ReceiveRequest {
	max: number;
	waitMs: number;
	/** Lease length; null = the subscription's visibility_timeout. */
	visibilityMs: number | null;
	/** Aborted when the client goes away: waiting partitions are told to give up at once. */
	signal?: AbortSignal;
	/** Keeps clean-up work alive after the response (the request's waitUntil). */
	background: (work: Promise<unknown>) => void;
}

type Leased = { partition: number; message: PulledMessage };

/** Every partition, starting at a random one: the order a receive asks them in (none starves). */
function fromRandom(partitions: number[]): number[] {
	const start = Math.floor(Math.random() * partitions.length);
	return [...partitions.slice(start), ...partitions.slice(0, start)];
}

/** Pull consumers across partitions: leases drawn fairly, receipts that name their partition. */
export class TopicPull {
	constructor(private readonly door: Door) {}

	/**
	 * Leases up to `max` due messages from all partitions, asking (from a random partition on) one
	 * partition for all of them, then the next two, then four, and so on until `max` is met: a busy
	 * topic costs one call per receive, a sparse one a few rounds. With nothing due and `waitMs` > 0,
	 * all partitions wait at once and the first to lease answers. Whatever was leased beyond `max`
	 * is given back at once, its attempt not counted.
	 */
	receive(name: string, req: ReceiveRequest): Promise<PulledMessage[]> {
		const door = this.door;
		return door.run(async (route) => {
			const all = door.partitions(route);
			if (all.length === 1) return this.wait(route, name, [0], req);
			const order = fromRandom(all);
			const got: Leased[] = [];
			let failure: unknown = null;
			// A partition that fails does not end the rounds: the others are still asked, so one partition
			// down costs a receive only its own messages.
			for (let i = 0, width = 1; i < order.length && got.length < req.max; i += width, width *= 2) {
				const rest = req.max - got.length;
				const round = await this.lease(
					route,
					name,
					order.slice(i, i + width).map((p): [number, number] => [p, rest]),
					req,
					0,
				);
				got.push(...round.got);
				failure ??= round.failure;
			}
			// A partition that failed is skipped when others leased something: what was leased is returned,
			// never dropped (it would stay invisible until its lease ended, an attempt used).
			if (got.length > 0 || (req.waitMs <= 0 && !failure)) return this.keep(route, name, got, req);
			if (failure) throw failure;
			return this.wait(route, name, all, req);
		});
	}

	/** Leases from each [partition, count] in parallel; what some leased is kept when others fail. */
	private async lease(
		route: Route,
		name: string,
		asks: [number, number][],
		req: ReceiveRequest,
		waitMs: number,
		waitId: string | null = null,
	): Promise<{ got: Leased[]; failure: unknown }> {
		const settled = await Promise.allSettled(
			asks.map(async ([p, n]) => {
				const { messages } = await this.door.call(p, (s) =>
					s.receive(route, name, n, waitMs, req.visibilityMs, waitId),
				);
				return messages.map((message) => ({ partition: p, message }));
			}),
		);
		const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
		return {
			got: settled.flatMap((x) => (x.status === "fulfilled" ? x.value : [])),
			failure: failed ? failed.reason : null,
		};
	}

	/**
	 * Long poll on `partitions` at once: the first partition to lease ends the others' waits; what
	 * they leased meanwhile is kept up to `max`, the rest released.
	 */
	private async wait(route: Route, name: string, partitions: number[], req: ReceiveRequest): Promise<PulledMessage[]> {
		const waitId = req.waitMs > 0 ? crypto.randomUUID() : null;
		const pending = new Set(partitions);
		// Ends the waits still open (a partition that already answered has no waiter to end).
		const abandon = () => {
			if (!waitId) return;
			for (const p of pending) {
				req.background(
					this.door
						.stub(p)
						.abandonReceive(waitId)
						.catch(() => false),
				);
			}
		};
		req.signal?.addEventListener("abort", abandon, { once: true });
		try {
			const calls = partitions.map((p) =>
				this.lease(route, name, [[p, req.max]], req, req.waitMs, waitId).finally(() => pending.delete(p)),
			);
			if (calls.length > 1) {
				// The first partition that leases something (or fails) ends every other wait.
				const first = calls.map((c) => c.then((r) => (r.got.length > 0 || r.failure ? Promise.reject(r) : r)));
				await Promise.all(first).catch(() => undefined);
				abandon();
			}
			const results = await Promise.all(calls);
			const kept = this.keep(
				route,
				name,
				results.flatMap((r) => r.got),
				req,
			);
			const failure = results.find((r) => r.failure)?.failure;
			if (failure && kept.length === 0) throw failure;
			return kept;
		} finally {
			req.signal?.removeEventListener("abort", abandon);
		}
	}

	/** Returns up to `max` leased messages with outer receipts; releases the rest in the background. */
	private keep(route: Route, name: string, got: Leased[], req: ReceiveRequest): PulledMessage[] {
		const extra = got.slice(req.max);
		const byPartition = new Map<number, string[]>();
		for (const x of extra) byPartition.set(x.partition, [...(byPartition.get(x.partition) ?? []), x.message.receipt]);
		for (const [p, receipts] of byPartition) {
			// Not released (the partition did not answer): the lease ends after its visibility timeout.
			const release = this.door.call(p, (s) => s.release(route, name, receipts));
			req.background(release.catch((error) => console.error("sundial: releasing extra leases failed", error)));
		}
		return got.slice(0, req.max).map((x) => ({ ...x.message, receipt: outerReceipt(x.partition, x.message.receipt) }));
	}

	/** Acks receipts; each is true only if it names a current lease. */
	ack(name: string, receipts: string[]): Promise<Record<string, boolean>> {
		return this.settle(receipts, (route, p, inner) => this.door.call(p, (s) => s.ack(route, name, inner)));
	}

	/** Gives leases back: scheduled again after `delayMs` (or the backoff), dead at max_attempts. */
	nack(name: string, receipts: string[], delayMs: number | null): Promise<Record<string, boolean>> {
		return this.settle(receipts, (route, p, inner) => this.door.call(p, (s) => s.nack(route, name, inner, delayMs)));
	}

	/** Moves a lease's end; `extended: false` for a stale, forged or malformed receipt. */
	extend(name: string, receipt: string, visibilityMs: number): Promise<{ extended: boolean; untilMs: number | null }> {
		return this.door.run(async (route) => {
			const split = splitReceipt(receipt, route.partitions);
			if (!split) {
				// Still a 404 / 409 for an unknown or non-pull subscription: acking nothing checks just that.
				await this.door.call(0, (s) => s.ack(route, name, []));
				return { extended: false, untilMs: null };
			}
			return this.door.call(split.partition, (s) => s.extend(route, name, split.inner, visibilityMs));
		});
	}

	/**
	 * Settles receipts partition by partition (in parallel), each partition once; a receipt that
	 * names no partition of the topic is false. With no receipt naming one, partition 0 is still
	 * asked (with none), so an unknown or non-pull subscription is a 404 / 409 however they look.
	 */
	private settle(
		receipts: string[],
		fn: (route: Route, partition: number, inner: string[]) => Promise<Record<string, boolean>>,
	): Promise<Record<string, boolean>> {
		return this.door.run(async (route) => {
			const results: Record<string, boolean> = {};
			const groups = new Map<number, { outer: string; inner: string }[]>();
			for (const outer of receipts) {
				const split = splitReceipt(outer, route.partitions);
				results[outer] = false;
				if (split) groups.set(split.partition, [...(groups.get(split.partition) ?? []), { outer, inner: split.inner }]);
			}
			if (groups.size === 0) groups.set(0, []);
			await Promise.all(
				[...groups].map(async ([p, list]) => {
					const answers = await fn(
						route,
						p,
						list.map((x) => x.inner),
					);
					for (const x of list) results[x.outer] = answers[x.inner] ?? false;
				}),
			);
			return results;
		});
	}
}
