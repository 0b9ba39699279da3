/** The sliding rate window shared by subscription limits (flow.ts) and key limits (key-limits.ts). */

/**
 * How much longer than `period` the rate window counted at a claim is: an attempt is recorded as
 * starting when it is claimed, and leaves a few ms later, so counting a little further back keeps
 * any window of `period` measured at the receiver within the limit.
 */
export const RATE_MARGIN_MS = 15;

/** The start time of an attempt still in flight: inside every window until its answer dates it. */
export const STARTED_IN_FLIGHT = Number.MAX_SAFE_INTEGER;

/** Where the window a claim at `nowMs` counts starts (exclusive). */
export const rateWindowStart = (nowMs: number, periodMs: number) => nowMs - periodMs - RATE_MARGIN_MS;
