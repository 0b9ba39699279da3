import type { SundialPublisher } from "sundial-outbox";
import type { OrdersObject } from "./orders";

/**
 * The example's bindings (wrangler.toml). Written by hand: `wrangler types` gives a binding to
 * another Worker's entrypoint as a bare `Service`, and SundialPublisher is what the outbox calls.
 */
export interface OrdersEnv {
	ORDERS: DurableObjectNamespace<OrdersObject>;
	/** Sundial's PublishEntrypoint, through a service binding. */
	SUNDIAL: SundialPublisher;
	REMINDER_TOPIC: string;
	REMINDER_DELAY: string;
}
