// The Worker the outbox tests run: Sundial itself (its fetch handler, objects and PublishEntrypoint)
// plus Durable Objects that use the outbox, bound to Sundial's PublishEntrypoint as another Worker
// would be (vitest.outbox.config.ts). Its service binding goes from this Worker to itself.
export { OrdersObject } from "../../examples/orders/src/orders";
export * from "../../src/index";
export { default } from "../../src/index";
export { OutboxProbe } from "./probe";
