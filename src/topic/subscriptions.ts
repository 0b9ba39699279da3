import { newSecret } from "../delivery/signing";
import { Conflict, fail, NotFound, ok, type Result } from "../errors";
import { MAINTENANCE_BATCH } from "./maintenance";
import { type HeldBackBySid, subscriptionViews } from "./stats";
import type { SubscriptionRow, TopicStore } from "./store";
import type { AdminStore } from "./store-admin";
import type { SubscriptionConfig, SubscriptionView } from "./types";

/** What creating or replacing a subscription returns: `secret` is the one it signs with now. */
export interface PutSubscriptionResult {
	created: boolean;
	subscription: SubscriptionView;
	secret: string | null;
}

export const subscriptionNotFound = (name: string) =>
	new NotFound("subscription_not_found", `subscription "${name}" not found`);

/** A partition's subscriptions: stored in SQLite, kept in memory for the hot paths. */
export class Subscriptions {
	private rows = new Map<number, SubscriptionRow>();

	constructor(
		private readonly store: TopicStore,
		private readonly admin: AdminStore,
		private readonly maxSubscriptions: number,
		private readonly heldBack: () => HeldBackBySid = () => new Map(),
	) {}

	/** Reads them again from storage (after every change). */
	load(): void {
		this.rows = new Map(this.store.listSubscriptions().map((s) => [s.sid, s]));
	}

	/** By row id, as the dispatcher and pull consumers look them up. */
	get bySid(): Map<number, SubscriptionRow> {
		return this.rows;
	}

	byName(name: string): SubscriptionRow | undefined {
		for (const sub of this.rows.values()) if (sub.name === name) return sub;
		return undefined;
	}

	names(): Map<number, string> {
		return new Map([...this.rows.values()].map((s) => [s.sid, s.name]));
	}

	views(only: string | null = null): Result<SubscriptionView[]> {
		if (only === null) return ok(subscriptionViews(this.store, [...this.rows.values()], this.heldBack()));
		const sub = this.byName(only);
		return sub ? ok(subscriptionViews(this.store, [sub], this.heldBack())) : fail(subscriptionNotFound(only));
	}

	/**
	 * Creates or replaces a subscription. A webhook subscription signs with `secret` (the same in
	 * every partition: the topic client chooses it). With `expectSecret` given, nothing changes
	 * unless the stored secret is that one (409 `secret_changed`): two PUTs racing to create the same
	 * subscription cannot leave partitions with different secrets.
	 */
	put(
		name: string,
		config: SubscriptionConfig,
		secret: string | null,
		expectSecret: string | null | undefined,
	): Result<PutSubscriptionResult> {
		const nowMs = Date.now();
		const existing = this.byName(name);
		if (expectSecret !== undefined && (existing?.secret ?? null) !== expectSecret) {
			return fail(new Conflict("secret_changed", `subscription "${name}" was changed meanwhile`));
		}
		const signWith = config.type === "webhook" ? (secret ?? existing?.secret ?? newSecret()) : null;
		if (existing) {
			this.store.updateSubscription(existing.sid, config, nowMs);
			if (signWith !== null && signWith !== existing.secret) this.store.setSecret(existing.sid, signWith);
		} else {
			if (this.rows.size >= this.maxSubscriptions) {
				return fail(
					new Conflict("too_many_subscriptions", `a topic has at most ${this.maxSubscriptions} subscriptions`),
				);
			}
			this.store.insertSubscription(name, config, signWith, nowMs);
		}
		this.load();
		const sub = this.byName(name) as SubscriptionRow;
		const [view] = subscriptionViews(this.store, [sub]);
		return ok({ created: !existing, subscription: view as SubscriptionView, secret: sub.secret });
	}

	/** Removes one at once; its deliveries are dropped now, or in batches by the alarm (`more`). */
	remove(name: string): Result<{ more: boolean }> {
		const sub = this.byName(name);
		if (!sub) return fail(subscriptionNotFound(name));
		const more = this.store.transaction(() => {
			this.store.deleteSubscription(sub.sid);
			const dropped = this.store.dropDeliveries(sub.sid, MAINTENANCE_BATCH);
			if (dropped === MAINTENANCE_BATCH) this.admin.addJob("drop_subscription", sub.sid, Date.now());
			return dropped === MAINTENANCE_BATCH;
		});
		this.load();
		return ok({ more });
	}
}
