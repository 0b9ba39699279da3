import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The reliability suite (issue 14): long, seeded runs against the real Worker in workerd, apart from
// `npm test`. `npm run test:reliability`; CI runs it after `npm test`. Bindings as vitest.config.ts.
export default defineConfig({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: "./wrangler.toml" },
			miniflare: {
				bindings: {
					SUNDIAL_TOKEN: "test-token",
					SUNDIAL_ALLOW_HTTP: "1",
					SUNDIAL_QSTASH_CURRENT_SIGNING_KEY: "sig_TestCurrentKey1111111111111111",
					SUNDIAL_QSTASH_NEXT_SIGNING_KEY: "sig_TestNextKey22222222222222222222",
				},
			},
		}),
	],
	test: {
		include: ["test/reliability/**/*.test.ts"],
		globalSetup: ["./test/support/global-receiver.ts"],
		testTimeout: 600_000,
	},
});
