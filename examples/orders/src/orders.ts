import { DurableObject } from "cloudflare:workers";
import { type DeadMessage, Outbox, OutboxError, type OutboxStats } from "sundial-outbox";
import type { OrdersEnv } from "./env";

/** An order as the example stores and answers it. */
export interface Order {
	id: string;
	customer: string;
	item: string;
	created_at: string;
	/** The id of its reminder at Sundial. */
	reminder_id: string;
}

/** What placing an order answers: the order, or why the input was refused (errors travel as data over RPC). */
export type PlaceResult =
	| { ok: true; order: Order }
	| { ok: false; error: { code: string; message: string; issues: { path: string; message: string }[] } };

/**
 * The orders Durable Object. Placing an order writes the order row and its reminder message in one
 * SQLite transaction: if either fails, neither exists, and once the order is saved its reminder
 * reaches Sundial exactly once, even if Sundial is unreachable for a while.
 */
export class OrdersObject extends DurableObject<OrdersEnv> {
	private readonly outbox: Outbox;

	constructor(ctx: DurableObjectState, env: OrdersEnv) {
		super(ctx, env);
		ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS orders (
			id TEXT PRIMARY KEY,
			customer TEXT NOT NULL,
			item TEXT NOT NULL,
			created_at_ms INTEGER NOT NULL,
			reminder_id TEXT NOT NULL
		)`);
		this.outbox = new Outbox(ctx, env.SUNDIAL);
	}

	placeOrder(customer: string, item: string, remindIn: string | number | undefined): PlaceResult {
		const nowMs = Date.now();
		const id = `order-${nowMs.toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
		try {
			return this.ctx.storage.transactionSync(() => {
				this.ctx.storage.sql.exec(
					"INSERT INTO orders (id, customer, item, created_at_ms, reminder_id) VALUES (?, ?, ?, ?, ?)",
					id,
					customer,
					item,
					nowMs,
					`remind-${id}`,
				);
				this.outbox.publish(this.env.REMINDER_TOPIC, {
					id: `remind-${id}`,
					delay: remindIn ?? this.env.REMINDER_DELAY,
					body: { type: "order.reminder", order: id, customer, item },
				});
				const order: Order = {
					id,
					customer,
					item,
					created_at: new Date(nowMs).toISOString(),
					reminder_id: `remind-${id}`,
				};
				return { ok: true, order } as const;
			});
		} catch (error) {
			if (!(error instanceof OutboxError)) throw error;
			const path = error.path === "delay" ? "remind_in" : error.path;
			return {
				ok: false,
				error: { code: "invalid_request", message: error.message, issues: [{ path, message: error.message }] },
			};
		}
	}

	getOrder(id: string): Order | null {
		const row = this.ctx.storage.sql
			.exec<{ id: string; customer: string; item: string; created_at_ms: number; reminder_id: string }>(
				"SELECT id, customer, item, created_at_ms, reminder_id FROM orders WHERE id = ?",
				id,
			)
			.toArray()[0];
		if (!row) return null;
		const { created_at_ms, ...rest } = row;
		return { ...rest, created_at: new Date(created_at_ms).toISOString() };
	}

	/** The outbox's state: waiting messages per topic, and the first messages Sundial refused. */
	outboxState(): { stats: OutboxStats; dead: DeadMessage[] } {
		return { stats: this.outbox.stats(), dead: this.outbox.dead({ limit: 20 }) };
	}

	override async alarm(): Promise<void> {
		await this.outbox.alarm();
		// This object has no alarm work of its own; yours would go here (see the outbox README).
	}
}
