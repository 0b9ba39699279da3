import { defineConfig } from "vitest/config";

/** End-to-end tests: plain Node driving `wrangler dev` and a real HTTP receiver. */
export default defineConfig({
	test: {
		environment: "node",
		include: ["test/e2e/**/*.test.ts"],
		testTimeout: 120_000,
		hookTimeout: 120_000,
		fileParallelism: false,
		reporters: ["default"],
	},
});
