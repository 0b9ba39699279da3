import type { AppEnv } from "../../config";
import { AppError, type Result, unwrap } from "../../errors";
import { type Route, STALE_ROUTE } from "../types";
import { objectName } from "./routing";

/** How long an isolate trusts a cached partition count before asking partition 0 again. */
const ROUTE_TTL_MS = 60_000;
/** Most topics one isolate caches (the oldest entry goes first). */
const ROUTE_CACHE_MAX = 10_000;

/**
 * Partition counts by topic, shared by every request this isolate serves. Plain data only
 * (PLATFORM.md §11.2). A stale entry can never misroute: every call carries the count it was
 * routed with, a partition of another count refuses it, and the caller re-reads the count.
 */
const routes = new Map<string, { partitions: number; atMs: number }>();

type TopicStub = ReturnType<AppEnv["TOPIC"]["getByName"]>;

/**
 * The one door to a topic's partition objects: which objects, with which partition count, and
 * what a failed call means. Every Worker-side caller (HTTP routes, the service binding) goes
 * through a topic client built on this.
 */
export class Door {
	constructor(
		private readonly env: AppEnv,
		readonly topic: string,
	) {}

	stub(partition: number): TopicStub {
		return this.env.TOPIC.getByName(objectName(this.topic, partition));
	}

	/**
	 * Calls one partition and returns the value of its Result, or throws: the Result's AppError,
	 * or a 503 `partition_unavailable` when the call itself failed (the object was unreachable,
	 * overloaded or reset): such a call may or may not have taken effect.
	 */
	async call<T>(partition: number, fn: (stub: TopicStub) => Promise<Result<T>>): Promise<T> {
		let result: Result<T>;
		try {
			result = await fn(this.stub(partition));
		} catch (error) {
			console.error(`sundial: call to partition ${partition} of "${this.topic}" failed`, error);
			throw new AppError(
				503,
				"partition_unavailable",
				`partition ${partition} of topic "${this.topic}" did not answer; the call may or may not have taken effect, repeat it`,
				undefined,
				{ cause: error },
			);
		}
		return unwrap(result);
	}

	/** The topic's route from partition 0 (not cached); 404 when there is no topic. */
	async freshRoute(): Promise<Route> {
		let partitions: number | null;
		try {
			partitions = await this.stub(0).partitions();
		} catch (error) {
			throw new AppError(503, "partition_unavailable", `topic "${this.topic}" did not answer`, undefined, {
				cause: error,
			});
		}
		if (partitions === null) {
			routes.delete(this.topic);
			throw new AppError(404, "topic_not_found", "topic not found");
		}
		if (routes.size >= ROUTE_CACHE_MAX) routes.delete(routes.keys().next().value as string);
		routes.set(this.topic, { partitions, atMs: Date.now() });
		return { partitions };
	}

	/** The cached route, if this isolate has a recent one. */
	cachedRoute(): Route | null {
		const hit = routes.get(this.topic);
		if (!hit || Date.now() - hit.atMs > ROUTE_TTL_MS) return null;
		return { partitions: hit.partitions };
	}

	/** Forgets the cached route (the topic was deleted, created, or a partition refused the route). */
	forget(): void {
		routes.delete(this.topic);
	}

	/**
	 * Runs `op` with the topic's route. When a partition refuses a cached route (another count, or
	 * no topic there any more), the route is read again from partition 0 and `op` runs once more.
	 * A fresh route refused too means the topic keeps changing: 503 `topic_changing`, never the
	 * internal `stale_route`.
	 */
	async run<T>(op: (route: Route) => Promise<T>): Promise<T> {
		const cached = this.cachedRoute();
		if (cached) {
			try {
				return await op(cached);
			} catch (error) {
				if (!isStale(error, true)) throw error;
				this.forget();
			}
		}
		try {
			return await op(await this.freshRoute());
		} catch (error) {
			throw this.reported(error);
		}
	}

	/** What a caller sees of an error met with a fresh route: a stale one means the topic keeps changing. */
	reported<E>(error: E): E | AppError {
		return isStale(error, false) ? this.changing() : error;
	}

	/** The error for a route that went stale twice in one request: the topic keeps changing. */
	private changing(): AppError {
		return new AppError(
			503,
			"topic_changing",
			`topic "${this.topic}" was deleted or created again meanwhile; repeat the request`,
		);
	}

	/** Every partition of a route, 0 first. */
	partitions(route: Route): number[] {
		return Array.from({ length: route.partitions }, (_, p) => p);
	}
}

/** True for an error that means the route used was stale (with `cached`, a missing topic too). */
export function isStale(error: unknown, cached: boolean): boolean {
	if (!(error instanceof AppError)) return false;
	return error.code === STALE_ROUTE || (cached && error.code === "topic_not_found");
}
