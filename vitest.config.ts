import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Unit and integration tests inside workerd, with the Worker's real bindings from wrangler.toml.
export default defineConfig({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: "./wrangler.toml" },
			miniflare: {
				bindings: { SUNDIAL_TOKEN: "test-token", SUNDIAL_ALLOW_HTTP: "1" },
			},
		}),
	],
	test: {
		include: ["test/unit/**/*.test.ts"],
		globalSetup: ["./test/support/global-receiver.ts"],
		testTimeout: 30_000,
	},
});
