import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_BINDINGS } from "./vitest.bindings.ts";

// Unit and integration tests inside workerd, with the Worker's real bindings from wrangler.toml.
export default defineConfig({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: "./wrangler.toml" },
			miniflare: {
				bindings: {
					...TEST_BINDINGS,
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
