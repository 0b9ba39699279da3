import type { SundialPublisher } from "sundial-outbox";
import type { OrdersObject } from "./orders";

/** The example's bindings (wrangler.toml). */
export interface OrdersEnv {
	ORDERS: DurableObjectNamespace<OrdersObject>;
	/** Sundial's PublishEntrypoint, through a service binding. */
	SUNDIAL: SundialPublisher;
	REMINDER_TOPIC: string;
	REMINDER_DELAY: string;
}
