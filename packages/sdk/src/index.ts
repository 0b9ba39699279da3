export type { RetryOptions } from "./backoff.js";
export { Sundial, type SundialOptions } from "./client.js";
export type {
	ConsumeOptions,
	ConsumeSummary,
	HandlerContext,
	MessageHandler,
	SubscriptionRef,
} from "./consume.js";
export { isSundialError, type LocalErrorCode, SundialError, type SundialIssue } from "./errors.js";
export type { components, paths } from "./generated/openapi.js";
export type { DeadLetters } from "./resources/dead.js";
export type { KeyLimitsResource } from "./resources/keys.js";
export { MAX_BATCH, type Messages, type PublishBatchOptions } from "./resources/messages.js";
export type { Pull } from "./resources/pull.js";
export type { Schedules } from "./resources/schedules.js";
export type { Subscriptions } from "./resources/subscriptions.js";
export type { Tokens } from "./resources/tokens.js";
export type { Topics } from "./resources/topics.js";
export type { TailEvent, TailOptions } from "./tail.js";
export { type Duration, type DurationUnit, type Instant, parseDurationMs } from "./time.js";
export type * from "./types.js";
export { type VerifiedWebhook, verifyWebhook } from "./webhook.js";
