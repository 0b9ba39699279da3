import type { RedisServer } from "./redis.ts";
import type { Services } from "./scenarios/common.ts";

/** What one measurement returns: named figures. */
export type Values = Record<string, number>;

/** Runs one measurement and records it; `fn` returning a string skips it with that reason. */
export type Step = (
	scenario: string,
	system: string,
	variant: string,
	rep: number,
	fn: () => Promise<Values> | string,
) => Promise<void>;
/** Runs `a` then `b` when `first`, else `b` then `a`. */
export type Both = (first: boolean, a: () => Promise<void>, b: () => Promise<void>) => Promise<void>;

/** A step for BullMQ on the hz-10 Redis of `svc` (read when the step runs); a no-op when BullMQ does not run. */
export function onRedis10(svc: Services): (fn: (redis: RedisServer) => Promise<void>) => () => Promise<void> {
	return (fn) => async () => {
		if (svc.redis10) await fn(svc.redis10);
	};
}
