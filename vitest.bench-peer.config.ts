import { defineConfig } from "vitest/config";

/** `npm run test:bench-peer`: the bench's smoke run with BullMQ + Redis beside Sundial (needs redis-server). */
export default defineConfig({
	test: {
		environment: "node",
		include: ["test/bench-peer/**/*.test.ts"],
		testTimeout: 120_000,
		reporters: ["default"],
	},
});
