import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_BINDINGS } from "./vitest.bindings.ts";

// The outbox's workerd tests (test/outbox): a Worker holding Sundial and Durable Objects that use
// sundial-outbox, with a service binding from it to its own PublishEntrypoint (as the example's
// binding to the `sundial` Worker). vitest.config.ts lists this file as a project, so `vitest run`
// runs these tests too.
export default defineConfig({
	plugins: [
		cloudflareTest({
			main: "./test/outbox/worker.ts",
			// The runner must export Sundial's named entrypoint for the binding below to reach it.
			additionalExports: { PublishEntrypoint: "WorkerEntrypoint" },
			wrangler: { configPath: "./wrangler.toml" },
			miniflare: {
				bindings: {
					...TEST_BINDINGS,
					REMINDER_TOPIC: "order-reminders",
					REMINDER_DELAY: "30m",
				},
				durableObjects: {
					OUTBOX_PROBE: { className: "OutboxProbe", useSQLite: true },
					ORDERS: { className: "OrdersObject", useSQLite: true },
				},
				serviceBindings: { SUNDIAL: { name: "sundial", entrypoint: "PublishEntrypoint" } },
			},
		}),
	],
	resolve: { alias: { "sundial-outbox": new URL("./packages/outbox/src/index.ts", import.meta.url).pathname } },
	test: {
		name: "outbox",
		include: ["test/outbox/**/*.test.ts"],
		globalSetup: ["./test/support/global-receiver.ts"],
		testTimeout: 30_000,
	},
});
