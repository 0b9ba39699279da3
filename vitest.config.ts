import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Unit and integration tests inside workerd, with the Worker's real bindings from wrangler.toml.
export default defineConfig({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: "./wrangler.toml" },
			miniflare: {
				// Every variable is set here so a developer's .dev.vars cannot change what the tests see.
				bindings: {
					SUNDIAL_TOKEN: "test-token",
					SUNDIAL_ALLOW_HTTP: "1",
					SUNDIAL_MAX_BODY_BYTES: "",
					SUNDIAL_MAX_REQUEST_BYTES: "",
					SUNDIAL_MAX_BATCH: "",
					SUNDIAL_MAX_DELAY_SECONDS: "",
					SUNDIAL_MAX_DELIVERIES_PER_ALARM: "",
					SUNDIAL_MAX_SCHEDULES: "",
					SUNDIAL_QSTASH_CURRENT_SIGNING_KEY: "sig_TestCurrentKey1111111111111111",
					SUNDIAL_QSTASH_NEXT_SIGNING_KEY: "sig_TestNextKey22222222222222222222",
				},
			},
		}),
	],
	test: {
		// This file's own tests, and the outbox's (their Worker adds Durable Objects using sundial-outbox).
		projects: [{ extends: true, test: { name: "sundial" } }, "./vitest.outbox.config.ts"],
		include: ["test/unit/**/*.test.ts"],
		globalSetup: ["./test/support/global-receiver.ts"],
		testTimeout: 30_000,
	},
});
