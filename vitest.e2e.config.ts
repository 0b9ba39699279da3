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
		// A beforeAll may start two Workers (outbox.test.ts), each tried twice (test/support/wrangler.ts).
		hookTimeout: 270_000,
		fileParallelism: false,
		reporters: ["default"],
	},
});
