import { AppError, type ErrorBody, InvalidRequest } from "../../errors";
import type { DeadView, MessageQuery, MessageSummary, MessageView, NewMessage, PublishOutcome, Route } from "../types";
import { type Door, isStale } from "./door";
import { partitionOf } from "./routing";

/** Where a page of the merged message list starts: after [deliver_at_ms, partition, mid]. */
export type MessagePosition = [number, number, number];
/** Where a page of the merged dead-letter list starts: after [partition, mid]. */
export type DeadPosition = [number, number];

/** One stored message's outcome, or why its partition did not store it (with its id, to publish it again). */
export type PublishResult = PublishOutcome | { id: string; error: ErrorBody };

/** What the message list filters (its cursor is the position instead of MessageQuery's `before`). */
export type ListFilter = Omit<MessageQuery, "before">;

/** Groups item indexes by the partition their message lives in (its key's, else its id's). */
function byPartition(messages: readonly NewMessage[], indexes: readonly number[], route: Route) {
	const groups = new Map<number, number[]>();
	for (const i of indexes) {
		const p = homeOf(messages[i] as NewMessage, route);
		const list = groups.get(p) ?? [];
		list.push(i);
		groups.set(p, list);
	}
	return groups;
}

/** Publishing, steering by id, and the merged lists. */
export class TopicMessages {
	constructor(private readonly door: Door) {}

	/**
	 * Stores messages, one call per partition they route to, in parallel. Results keep input order.
	 * A partition that fails gives its items an error result while the others are stored; the whole
	 * call throws only when every partition failed with the same error (e.g. topic_not_found).
	 * Items refused for a stale cached route are routed again once with a fresh route.
	 */
	async publish(messages: readonly NewMessage[]): Promise<PublishResult[]> {
		const door = this.door;
		const results: (PublishResult | undefined)[] = new Array(messages.length);
		let route = door.cachedRoute();
		let cached = route !== null;
		// A repeated id goes where its first item went: its duplicate, or with another key (or none) an
		// id_conflict, as against a stored message.
		const firstOf = new Map<string, number>();
		const repeats: [number, number][] = [];
		messages.forEach((m, i) => {
			const first = firstOf.get(m.id);
			if (first === undefined) firstOf.set(m.id, i);
			else repeats.push([i, first]);
		});
		let pending = messages.map((_, i) => i).filter((i) => firstOf.get((messages[i] as NewMessage).id) === i);
		const failures: AppError[] = [];
		for (let round = 0; round < 2 && pending.length > 0; round++) {
			if (!route) {
				try {
					route = await door.freshRoute();
				} catch (error) {
					// Round 0 stored other items: answer these with the error instead of failing them all.
					if (round === 0 || !(error instanceof AppError)) throw error;
					failures.push(error);
					for (const i of pending) results[i] = { id: (messages[i] as NewMessage).id, error: error.toBody() };
					break;
				}
				cached = false;
			}
			const r = route;
			const retry: number[] = [];
			// A keyed message living outside its id's partition first claims its id there (id-claims.ts).
			try {
				const taken = await claimIds(door, r, messages, pending);
				pending = pending.filter((i) => {
					if (!taken.has(i)) return true;
					const id = (messages[i] as NewMessage).id;
					results[i] = { id, error: idTaken(id).toBody() };
					return false;
				});
			} catch (error) {
				if (!(error instanceof AppError)) throw error;
				if (round === 0 && isStale(error, cached)) {
					door.forget();
					route = null;
					continue;
				}
				throw door.reported(error);
			}
			await Promise.all(
				[...byPartition(messages, pending, r)].map(async ([p, indexes]) => {
					try {
						const stored = await door.call(p, (s) =>
							s.publish(
								r,
								indexes.map((i) => messages[i] as NewMessage),
							),
						);
						stored.forEach((o, k) => {
							if (!o.conflict) {
								results[indexes[k] as number] = o;
								return;
							}
							results[indexes[k] as number] = { id: o.id, error: idTaken(o.id).toBody() };
						});
					} catch (error) {
						if (!(error instanceof AppError)) throw error;
						if (round === 0 && isStale(error, cached)) {
							retry.push(...indexes);
							return;
						}
						// Stale again with a fresh route: the topic keeps changing; say so, not the internal code.
						const failure = door.reported(error);
						failures.push(failure);
						for (const i of indexes) results[i] = { id: (messages[i] as NewMessage).id, error: failure.toBody() };
					}
				}),
			);
			if (retry.length > 0) {
				door.forget();
				route = null;
			}
			pending = retry;
		}
		for (const [i, first] of repeats) {
			const r = results[first] as PublishResult;
			if ("error" in r) results[i] = r;
			else if (((messages[i] as NewMessage).key ?? null) !== ((messages[first] as NewMessage).key ?? null)) {
				results[i] = { id: r.id, error: idTaken(r.id).toBody() };
			} else results[i] = { id: r.id, deliverAtMs: r.deliverAtMs, duplicate: true };
		}
		// The call fails as a whole only when every item failed for the same reason that is not the
		// item's own (topic_not_found, a partition down): an id_conflict is always the item's answer.
		const first = failures[0];
		if (first && results.every((x) => x && "error" in x && x.error.code === first.code)) throw first;
		return results as PublishResult[];
	}

	/** Publishes one message; an error, its own (id_conflict) included, is thrown. */
	async publishOne(message: NewMessage): Promise<Exclude<PublishResult, { error: unknown }>> {
		const [result] = await this.publish([message]);
		if (!result) throw new Error("a publish answers one result per message");
		if ("error" in result) {
			if (result.error.code === "id_conflict") throw idTaken(result.id);
			throw new Error(`a single publish answered ${result.error.code} without throwing it`);
		}
		return result;
	}

	/**
	 * Runs `fn` on the partition a message id lives in: its id's, or, for a keyed message stored in
	 * its key's partition, the one its id's partition has a claim for (asked only on a miss).
	 */
	private byId<T>(id: string, fn: (route: Route, partition: number) => Promise<T>): Promise<T> {
		const door = this.door;
		return door.run(async (route) => {
			const p = partitionOf(id, route.partitions);
			try {
				return await fn(route, p);
			} catch (error) {
				if (route.partitions === 1 || !(error instanceof AppError && error.code === "message_not_found")) throw error;
				const claimed = (await door.call(p, (s) => s.claimsOf(route, [id])))[id];
				if (claimed === undefined || claimed === p) throw error;
				return fn(route, claimed);
			}
		});
	}

	get(id: string): Promise<MessageView> {
		return this.byId(id, (r, p) => this.door.call(p, (s) => s.getMessage(r, id)));
	}

	/** Cancels a message's pending deliveries (only one subscription's when given). */
	cancel(id: string, subscription: string | null = null): Promise<{ id: string; cancelled: number }> {
		return this.byId(id, (r, p) => this.door.call(p, (s) => s.cancelMessage(r, id, subscription)));
	}

	deliverNow(id: string): Promise<{ id: string; scheduled: number }> {
		return this.byId(id, (r, p) => this.door.call(p, (s) => s.deliverMessage(r, id)));
	}

	reschedule(id: string, atMs: number): Promise<{ id: string; deliverAtMs: number; scheduled: number }> {
		return this.byId(id, (r, p) => this.door.call(p, (s) => s.rescheduleMessage(r, id, atMs)));
	}

	/**
	 * A page of messages over every partition, newest due first; ties in due time go higher
	 * partition first, then newer row first. That order is total, so a position [due, partition,
	 * row] splits every partition's list exactly: nothing is missed or repeated between pages.
	 */
	list(
		filter: ListFilter,
		after: MessagePosition | null,
	): Promise<{ messages: MessageSummary[]; next: MessagePosition | null }> {
		const door = this.door;
		return door.run(async (route) => {
			if (after !== null) checkPartition(after[1], route);
			const pages = await Promise.all(
				door.partitions(route).map(async (p) => {
					const before = after === null ? null : splitPosition(after, p);
					const page = await door.call(p, (s) => s.listMessages(route, { ...filter, before }));
					return { p, more: page.next !== null, items: page.messages };
				}),
			);
			const merged = pages
				.flatMap(({ p, items }) => items.map((m) => ({ p, m })))
				.sort((a, b) => b.m.deliverAtMs - a.m.deliverAtMs || b.p - a.p || b.m.mid - a.m.mid);
			const page = merged.slice(0, filter.limit);
			const more = merged.length > filter.limit || pages.some((x) => x.more);
			const last = page.at(-1);
			return {
				messages: page.map((x) => x.m),
				next: more && last ? [last.m.deliverAtMs, last.p, last.m.mid] : null,
			};
		});
	}

	/**
	 * A page of a subscription's dead deliveries: partition by partition, each in message order.
	 * `more` holds when a partition has more than it gave or one was left unasked with the page full.
	 */
	listDead(
		name: string,
		after: DeadPosition | null,
		limit: number,
	): Promise<{ dead: DeadView[]; next: DeadPosition | null }> {
		const door = this.door;
		return door.run(async (route) => {
			const [fromPartition, afterMid] = after ?? [0, 0];
			checkPartition(fromPartition, route);
			// Partitions in order, one, then two, then four… at a time, until the page is full: a page
			// that one partition fills costs one call, not one per partition.
			const todo = door.partitions(route).filter((p) => p >= fromPartition);
			const pages: { p: number; more: boolean; items: DeadView[] }[] = [];
			let collected = 0;
			for (let i = 0, width = 1; i < todo.length && collected <= limit; i += width, width *= 2) {
				const round = await Promise.all(
					todo.slice(i, i + width).map(async (p) => {
						const page = await door.call(p, (s) => s.listDead(route, name, p === fromPartition ? afterMid : 0, limit));
						return { p, more: page.next !== null, items: page.dead };
					}),
				);
				pages.push(...round);
				collected += round.reduce((n, x) => n + x.items.length, 0);
			}
			const merged = pages.flatMap(({ p, items }) => items.map((d) => ({ p, d })));
			const page = merged.slice(0, limit);
			const more = merged.length > limit || pages.some((x) => x.more);
			const last = page.at(-1);
			return { dead: page.map((x) => x.d), next: more && last ? [last.p, last.d.mid] : null };
		});
	}

	/**
	 * Schedules dead deliveries again. Named ids go to their partitions; when they span several,
	 * all are checked first so that a 409 (some not dead) changes nothing. `null` redrives all,
	 * every partition in bounded batches (`pending` sums what the alarms still have to do).
	 */
	redrive(name: string, ids: string[] | null): Promise<{ redriven: number; pending: number }> {
		const door = this.door;
		return door.run(async (route) => {
			if (ids === null) {
				return sum(
					await Promise.all(door.partitions(route).map((p) => door.call(p, (s) => s.redrive(route, name, null)))),
				);
			}
			const groups = await groupIds(door, ids, route);
			if (groups.size > 1) {
				const missing = (
					await Promise.all([...groups].map(([p, list]) => door.call(p, (s) => s.notDead(route, name, list))))
				).flat();
				if (missing.length > 0) {
					const issues = missing.map((id) => ({ path: "ids", message: `"${id}" is not dead in "${name}"` }));
					const message = `${missing.length} of the ids are not dead; nothing was redriven`;
					throw new AppError(409, "not_dead", message, issues);
				}
			}
			return sum(await Promise.all([...groups].map(([p, list]) => door.call(p, (s) => s.redrive(route, name, list)))));
		});
	}

	/** Purges a subscription's dead deliveries: of the named messages (each in its partition), or all. */
	purgeDead(name: string, ids: string[] | null = null): Promise<{ purged: number; pending: number }> {
		const door = this.door;
		return door.run(async (route) => {
			const calls =
				ids === null
					? door.partitions(route).map((p) => door.call(p, (s) => s.purgeDead(route, name, null)))
					: [...(await groupIds(door, ids, route))].map(([p, list]) =>
							door.call(p, (s) => s.purgeDead(route, name, list)),
						);
			const parts = await Promise.all(calls);
			return {
				purged: parts.reduce((n, x) => n + x.purged, 0),
				pending: parts.reduce((n, x) => n + x.pending, 0),
			};
		});
	}
}

/** Message ids by the partition they live in: their id's, or the one a claim there names. */
async function groupIds(door: Door, ids: string[], route: Route): Promise<Map<number, string[]>> {
	const byIdPartition = new Map<number, string[]>();
	for (const id of new Set(ids)) {
		const p = partitionOf(id, route.partitions);
		byIdPartition.set(p, [...(byIdPartition.get(p) ?? []), id]);
	}
	if (route.partitions === 1) return byIdPartition;
	const groups = new Map<number, string[]>();
	await Promise.all(
		[...byIdPartition].map(async ([p, list]) => {
			const claims = await door.call(p, (s) => s.claimsOf(route, list));
			for (const id of list) {
				const home = claims[id] ?? p;
				groups.set(home, [...(groups.get(home) ?? []), id]);
			}
		}),
	);
	return groups;
}

/** The partition a message is stored in: its key's, else its id's. */
function homeOf(m: NewMessage, route: Route): number {
	return partitionOf(m.key ?? m.id, route.partitions);
}

const idTaken = (id: string) =>
	new AppError(409, "id_conflict", `id "${id}" is taken by a message with another key (or none)`);

/**
 * Claims, in their id's partition, the ids of keyed messages stored elsewhere (one call per
 * partition). Returns the indexes whose id is taken there: by a message stored there, or a claim
 * for another partition. A claim made before a failed publish is made again harmlessly.
 */
async function claimIds(door: Door, route: Route, messages: readonly NewMessage[], indexes: readonly number[]) {
	const taken = new Set<number>();
	if (route.partitions === 1) return taken;
	const groups = new Map<number, number[]>();
	for (const i of indexes) {
		const m = messages[i] as NewMessage;
		const own = partitionOf(m.id, route.partitions);
		if (m.key === undefined || m.key === null || homeOf(m, route) === own) continue;
		groups.set(own, [...(groups.get(own) ?? []), i]);
	}
	await Promise.all(
		[...groups].map(async ([p, list]) => {
			const claims = list.map((i) => {
				const m = messages[i] as NewMessage;
				return { id: m.id, partition: homeOf(m, route), deliverAtMs: m.deliverAtMs };
			});
			const ok = await door.call(p, (s) => s.claimIds(route, claims));
			list.forEach((i, k) => {
				if (!ok[k]) taken.add(i);
			});
		}),
	);
	return taken;
}

/** A cursor naming a partition the topic does not have was not made by this API. */
function checkPartition(partition: number, route: Route): void {
	if (partition < 0 || partition >= route.partitions) {
		throw new InvalidRequest("invalid cursor: not a cursor of this list", [
			{ path: "cursor", message: "not a cursor of this list" },
		]);
	}
}

/** The position after which partition `p`'s page starts, for a merged-list position. */
function splitPosition([atMs, partition, mid]: MessagePosition, p: number): [number, number] {
	// Same due time: a lower partition comes after the position whole, a higher one not at all.
	if (p < partition) return [atMs, Number.MAX_SAFE_INTEGER];
	if (p > partition) return [atMs, 0];
	return [atMs, mid];
}

function sum(parts: { redriven: number; pending: number }[]): { redriven: number; pending: number } {
	return {
		redriven: parts.reduce((n, x) => n + x.redriven, 0),
		pending: parts.reduce((n, x) => n + x.pending, 0),
	};
}
