/**
 * The SDK's public types: the API's own schemas (generated from the Worker's /openapi.json), with
 * durations as {@link Duration} and instants as {@link Instant} where the SDK takes them.
 */
import type { components, paths } from "./generated/openapi.js";
import type { Duration, Instant } from "./time.js";

type Schemas = components["schemas"];
type Json<P extends keyof paths, M extends "get" | "put" | "post" | "delete", S extends number = 200> =
	NonNullable<paths[P][M]> extends { responses: infer R }
		? S extends keyof R
			? R[S] extends { content: { "application/json": infer J } }
				? J
				: never
			: never
		: never;

/** Replaces the keys `D` of `T` by durations and `I` by instants, keeping whether they are optional. */
type Timed<T, D extends keyof T = never, I extends keyof T = never> = Omit<T, D | I> & {
	[K in D]?: Duration | Extract<T[K], null>;
} & { [K in I]?: Instant };

// Responses: exactly the API's.
export type Topic = Schemas["Topic"];
export type TopicSummary = Schemas["TopicList"]["topics"][number];
/** A subscription as lists show it: configuration, counts, lag and what its limits hold back. */
export type Subscription = Schemas["Subscription"];
/** One subscription as GET shows it: also the first page of its blocked keys. */
export type SubscriptionDetail = Json<"/v1/topics/{topic}/subscriptions/{name}", "get">;
/** A subscription as a PUT answers it: `secret` (`whsec_…`) once, at creation; `null` after. */
export type SubscriptionWithSecret = Json<"/v1/topics/{topic}/subscriptions/{name}", "put">;
export type BlockedKey = Schemas["BlockedKey"];
export type PublishResult = Schemas["PublishResult"];
export type BatchItemResult = Schemas["BatchResult"]["results"][number];
export type Message = Schemas["Message"];
/** A failed attempt of a delivery, as `Message.deliveries[].history` lists it. */
export type FailedAttempt = Schemas["FailedAttempt"];
/** A topic's lateness histogram and attempt counts per subscription. */
export type Lateness = Schemas["Lateness"];
export type MessageSummary = Schemas["MessageSummary"];
export type DeliveryState = Message["deliveries"][number]["state"];
export type DeadDelivery = Schemas["DeadDelivery"];
export type KeyLimits = Schemas["KeyLimits"];
export type PulledMessage = Schemas["PulledMessage"];
export type Schedule = Schemas["Schedule"];
export type CancelResult = Json<"/v1/topics/{topic}/messages/{id}", "delete">;
export type DeliverNowResult = Json<"/v1/topics/{topic}/messages/{id}/deliver", "post">;
export type RescheduleResult = Json<"/v1/topics/{topic}/messages/{id}/reschedule", "post">;
export type RedriveResult = Json<"/v1/topics/{topic}/subscriptions/{name}/dead/redrive", "post">;
export type PurgeResult = Json<"/v1/topics/{topic}/subscriptions/{name}/dead", "delete">;
export type AckResult = Json<"/v1/topics/{topic}/subscriptions/{name}/ack", "post">;
export type ExtendResult = Json<"/v1/topics/{topic}/subscriptions/{name}/extend", "post">;

// Requests: the API's, with durations and instants typed.
export type TopicConfig = Timed<Schemas["TopicRequest"], "retention">;
type SubscriptionRequest = Schemas["SubscriptionRequest"];
/** A subscription's configuration (PUT body). */
export type SubscriptionConfig = Timed<SubscriptionRequest, "timeout" | "visibility_timeout"> & {
	retry?: Timed<NonNullable<SubscriptionRequest["retry"]>, "base" | "max">;
	rate?: Timed<NonNullable<SubscriptionRequest["rate"]>, "period"> | null;
};
/** One message to publish. */
export type PublishInput = Timed<Schemas["PublishRequest"], "delay", "deliver_at">;
/** When a message should go instead: a delay from now, or an instant. */
export type RescheduleInput = { delay: Duration; deliver_at?: never } | { deliver_at: Instant; delay?: never };
type KeyLimitsRequest = Schemas["KeyLimitsRequest"];
/** Limits on one message key, for all subscriptions together. */
export type KeyLimitsConfig = Omit<KeyLimitsRequest, "rate"> & {
	rate?: Timed<NonNullable<KeyLimitsRequest["rate"]>, "period"> | null;
};
export type ScheduleConfig = Schemas["ScheduleRequest"];
export type ReceiveOptions = Timed<Schemas["ReceiveRequest"], "wait" | "visibility_timeout">;

type MessagesQuery = NonNullable<NonNullable<paths["/v1/topics/{topic}/messages"]["get"]["parameters"]["query"]>>;
/** Which messages a list returns (the page itself is chosen by {@link PageOptions}). */
export type MessageFilter = Omit<MessagesQuery, "from" | "to" | "limit" | "cursor"> & { from?: Instant; to?: Instant };

/** One page of a paginated list. */
export interface PageOptions {
	/** Items per page, 1–1000. @default 100 (the API's) */
	limit?: number;
	/** The `next_cursor` of the previous page. */
	cursor?: string | null;
}

/** A page of items and the cursor of the next one (`null` on the last). */
export interface Page<T> {
	items: T[];
	next_cursor: string | null;
}

/** A scoped token as listed (never the token itself). */
export type Token = Schemas["Token"];
/** What creating a token answers: its `token` is shown this once. */
export type CreatedToken = Json<"/v1/tokens", "post", 201>;
/** A token to create: `scopes`, `topics` (names or prefixes ending in `*`), `expires_in` a duration. */
export type TokenInput = Timed<Schemas["TokenRequest"], "expires_in">;
