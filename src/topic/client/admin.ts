import { newSecret } from "../../delivery/signing";
import { AppError, InvalidRequest, NotFound } from "../../errors";
import { zeroCounts } from "../stats";
import type { DeliveryState, Route, SubscriptionConfig, SubscriptionView, TopicView } from "../types";
import type { Door } from "./door";

/** What creating or updating a topic asks for. */
export interface TopicInput {
	retentionMs: number;
	/** Partition count for a new topic; for an existing one it must match (or be omitted). */
	partitions: number | null;
}

/** A topic-wide subscription write answers with partition 0's view and, once, the new secret. */
export interface SubscriptionWrite {
	created: boolean;
	subscription: SubscriptionView;
	secret: string | null;
}

const partitionsFixed = (has: number) =>
	new AppError(
		409,
		"partitions_fixed",
		`partitions is fixed for the topic's life (it has ${has}); delete the topic to change it`,
		[{ path: "partitions", message: "cannot be changed" }],
	);

/** How long a subscription write waits for another to finish. */
const LOCK_WAIT_MS = 5_000;
/** How long the write lock lasts if its holder never releases it (the Worker died). */
const LOCK_TTL_MS = 15_000;

const concurrentChange = (what: string) =>
	new AppError(409, "concurrent_change", `${what} keep being changed by other requests; repeat`);

/** Adds one partition's delivery counts into `into`. */
function addCounts<K extends string>(into: Record<K, number>, add: Record<K, number>): void {
	for (const key of Object.keys(into) as K[]) into[key] += add[key];
}

/**
 * Topic-wide writes go to every partition, partition 0 last: partition 0 holds what the API shows
 * (the topic, its subscriptions), so it changes only once all others have. A write that fails
 * part-way answers an error; repeating it converges.
 */
async function others<T>(door: Door, route: Route, fn: (partition: number) => Promise<T>): Promise<T[]> {
	return Promise.all(door.partitions(route).slice(1).map(fn));
}

/** Topics and subscriptions, across a topic's partitions. */
export class TopicAdmin {
	constructor(private readonly door: Door) {}

	/** The topic's partition count, read from partition 0 (404 when there is no topic). */
	async partitions(): Promise<number> {
		return (await this.door.freshRoute()).partitions;
	}

	/** Creates the topic (all partitions) or updates its retention; `created` as partition 0 says. */
	async put(input: TopicInput): Promise<{ created: boolean; topic: TopicView }> {
		const door = this.door;
		door.forget();
		const existing = await door.freshRoute().catch((error: unknown) => {
			if (error instanceof AppError && error.code === "topic_not_found") return null;
			throw error;
		});
		if (existing && input.partitions !== null && input.partitions !== existing.partitions) {
			throw partitionsFixed(existing.partitions);
		}
		const route = existing ?? { partitions: input.partitions ?? 1 };
		const nowMs = Date.now();
		const setup = (partition: number) => ({
			name: door.topic,
			partition,
			partitions: route.partitions,
			retentionMs: input.retentionMs,
			nowMs,
		});
		let result: { created: boolean };
		try {
			await others(door, route, (p) => door.call(p, (s) => s.configure(setup(p))));
			result = await door.call(0, (s) => s.configure(setup(0)));
		} catch (error) {
			// Another PUT created the topic with another count meanwhile: partitions this one set up with
			// its count are set up again with the winner's before the 409 (else they would refuse it).
			if (error instanceof AppError && error.code === "partitions_fixed" && !existing) await this.repair();
			throw error;
		}
		// A DELETE ran between the other partitions and partition 0: they are gone, set them up again.
		if (result.created && existing) await others(door, route, (p) => door.call(p, (s) => s.configure(setup(p))));
		door.forget();
		try {
			return { created: result.created, topic: await this.describe(route) };
		} catch (error) {
			throw door.reported(error);
		}
	}

	/** Sets every partition up again with partition 0's count and retention (after a lost race). */
	private async repair(): Promise<void> {
		const door = this.door;
		const route = await door.freshRoute().catch(() => null);
		if (!route) return; // no winner yet: nothing to set up again
		const first = await door.call(0, (s) => s.describe(route));
		const nowMs = Date.now();
		await others(door, route, (p) =>
			door.call(p, (s) =>
				s.configure({
					name: door.topic,
					partition: p,
					partitions: route.partitions,
					retentionMs: first.retentionMs,
					nowMs,
				}),
			),
		);
	}

	/** Configuration (partition 0's) and totals summed over partitions. */
	async describe(route?: Route): Promise<TopicView> {
		const door = this.door;
		const read = (r: Route) => Promise.all(door.partitions(r).map((p) => door.call(p, (s) => s.describe(r))));
		const views = route ? await read(route) : await door.run(read);
		const first = views[0] as TopicView;
		const counts = zeroCounts();
		let messages = 0;
		let publishedTotal = 0;
		let deliveredTotal = 0;
		for (const v of views) {
			addCounts<DeliveryState>(counts, v.counts);
			messages += v.messages;
			publishedTotal += v.publishedTotal;
			deliveredTotal += v.deliveredTotal;
		}
		return { ...first, messages, counts, publishedTotal, deliveredTotal };
	}

	/**
	 * Deletes every partition (partition 0 last, so a delete that fails part-way leaves a topic that
	 * can still be seen and deleted again); false when there was no topic.
	 */
	async destroy(): Promise<boolean> {
		const door = this.door;
		door.forget();
		let route: Route;
		try {
			route = await door.freshRoute();
		} catch (error) {
			if (error instanceof AppError && error.code === "topic_not_found") return false;
			throw error;
		}
		await others(door, route, (p) => door.call(p, (s) => s.destroy()));
		const { deleted } = await door.call(0, (s) => s.destroy());
		door.forget();
		return deleted;
	}

	/**
	 * Creates or replaces a subscription on every partition with one secret: partition 0's, or a
	 * new one. Partition 0 is written last and only if its secret is still the one spread (else
	 * another PUT raced this one: it starts over with the secret that won).
	 */
	putSubscription(name: string, config: SubscriptionConfig): Promise<SubscriptionWrite> {
		const door = this.door;
		return door.run((route) =>
			this.exclusive(route, async () => {
				checkShares(config, route.partitions);
				for (let round = 0; ; round++) {
					const current = await door.call(0, (s) => s.secretOf(route, name));
					const secret = config.type === "webhook" ? (current ?? newSecret()) : null;
					await others(door, route, (p) => door.call(p, (s) => s.putSubscription(route, name, config, secret)));
					try {
						const r = await door.call(0, (s) => s.putSubscription(route, name, config, secret, current));
						const merged = await this.getSubscription(name, route);
						return { created: r.created, subscription: merged, secret: r.created ? r.secret : null };
					} catch (error) {
						if (!(error instanceof AppError && error.code === "secret_changed")) throw error;
						if (round >= 3) throw concurrentChange(`subscription "${name}"`);
					}
				}
			}),
		);
	}

	/**
	 * Runs a topic-wide subscription write holding partition 0's write lock (waiting for it a few
	 * seconds), so concurrent writes apply to every partition in the same order. One partition
	 * needs no lock: it serialises its own writes.
	 */
	private async exclusive<T>(route: Route, write: () => Promise<T>): Promise<T> {
		if (route.partitions === 1) return write();
		const door = this.door;
		const token = crypto.randomUUID();
		const deadline = Date.now() + LOCK_WAIT_MS;
		while (!(await door.call(0, (s) => s.lockSubscriptions(route, token, LOCK_TTL_MS)))) {
			if (Date.now() > deadline) throw concurrentChange("the subscriptions");
			await new Promise((resolve) => setTimeout(resolve, 25));
		}
		try {
			return await write();
		} finally {
			await door
				.stub(0)
				.unlockSubscriptions(token)
				.catch(() => undefined);
		}
	}

	/** One subscription: partition 0's configuration, counts summed, the worst partition's lag. */
	async getSubscription(name: string, route?: Route): Promise<SubscriptionView> {
		const [view] = await this.views(route, name);
		if (!view) throw new NotFound("subscription_not_found", `subscription "${name}" not found`);
		return view;
	}

	/** Every subscription, merged over partitions as getSubscription does. */
	listSubscriptions(): Promise<SubscriptionView[]> {
		return this.views(undefined, null);
	}

	private async views(route: Route | undefined, only: string | null): Promise<SubscriptionView[]> {
		const door = this.door;
		const read = (r: Route) => Promise.all(door.partitions(r).map((p) => door.call(p, (s) => s.listSubscriptions(r))));
		const perPartition = route ? await read(route) : await door.run(read);
		const [first = [], ...rest] = perPartition;
		return first
			.filter((v) => only === null || v.name === only)
			.map((v) => {
				const merged = { ...v, counts: { ...v.counts }, heldBack: { ...v.heldBack } };
				for (const list of rest) {
					const other = list.find((o) => o.name === v.name);
					if (!other) continue;
					addCounts(merged.counts, other.counts);
					merged.oldestDueLagMs = Math.max(merged.oldestDueLagMs, other.oldestDueLagMs);
					for (const k of Object.keys(merged.heldBack) as (keyof typeof merged.heldBack)[]) {
						merged.heldBack[k] += other.heldBack[k];
					}
				}
				return merged;
			});
	}

	/**
	 * Removes a subscription from every partition (partition 0 last). 404 only when no partition had
	 * it: a PUT that failed part-way may have left it in some partitions, and this removes it.
	 */
	deleteSubscription(name: string): Promise<void> {
		const door = this.door;
		return door.run((route) =>
			this.exclusive(route, async () => {
				const removed = await others(door, route, (p) => this.removeFrom(p, route, name));
				const fromFirst = await this.removeFrom(0, route, name);
				if (!fromFirst && !removed.some(Boolean)) {
					throw new NotFound("subscription_not_found", `subscription "${name}" not found`);
				}
			}),
		);
	}

	private async removeFrom(partition: number, route: Route, name: string): Promise<boolean> {
		try {
			await this.door.call(partition, (s) => s.deleteSubscription(route, name));
			return true;
		} catch (error) {
			if (error instanceof AppError && error.code === "subscription_not_found") return false;
			throw error;
		}
	}
}

/** Topic-wide limits are split over the partitions: each must get at least 1 (flow.ts `shareOf`). */
function checkShares(config: SubscriptionConfig, partitions: number): void {
	const limits = [
		["parallelism", config.parallelism ?? null],
		["rate.limit", config.rate?.limit ?? null],
	] as const;
	for (const [path, value] of limits) {
		if (value !== null && value < partitions) {
			const message = `must be at least the topic's partitions (${partitions}): each partition holds a share`;
			throw new InvalidRequest(`invalid request body: ${path}: ${message}`, [{ path, message }]);
		}
	}
}
