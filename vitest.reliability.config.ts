import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_BINDINGS } from "./vitest.bindings.ts";

// The reliability suite (issue 14): long, seeded runs against the real Worker in workerd, apart from
// `npm test`. `npm run test:reliability`; CI runs it after `npm test`. Bindings as vitest.config.ts.
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
		include: ["test/reliability/**/*.test.ts"],
		globalSetup: ["./test/support/global-receiver.ts"],
		testTimeout: 600_000,
	},
});
