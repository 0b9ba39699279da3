import { defineConfig } from "vitest/config";

/**
 * Browser tests (npm run test:browser, not part of npm test): Debian's chromium driven by playwright-core
 * against the real Worker under `wrangler dev`. They fail, not skip, when chromium is missing.
 */
export default defineConfig({
	test: {
		environment: "node",
		include: ["test/browser/**/*.test.ts"],
		testTimeout: 120_000,
		hookTimeout: 150_000,
		fileParallelism: false,
		reporters: ["default"],
	},
});
