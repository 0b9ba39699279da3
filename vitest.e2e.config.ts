import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** End-to-end tests: plain Node driving `wrangler dev` and a real HTTP receiver. */
export default defineConfig({
	// The CLI's source imports the SDK by its package name; tests run both from source (dist/ may not be built).
	resolve: { alias: { "sundial-sdk": fileURLToPath(new URL("./packages/sdk/src/index.ts", import.meta.url)) } },
	test: {
		environment: "node",
		include: ["test/e2e/**/*.test.ts"],
		testTimeout: 120_000,
		// Two starts of wrangler dev (test/support/wrangler.ts) must fit in a beforeAll.
		hookTimeout: 150_000,
		fileParallelism: false,
		reporters: ["default"],
	},
});
