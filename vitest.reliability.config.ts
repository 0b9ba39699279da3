import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_BINDINGS } from "./vitest.bindings.ts";

// The reliability suite (issue 14): long, seeded runs apart from `npm test`; `npm run test:reliability`,
// and CI runs it after `npm test`. Two projects: `workerd` runs the Worker in workerd beside the tests
// (fuzzing, slow receivers, a consumer outage; bindings as vitest.config.ts), `runtime` drives a real
// `wrangler dev` from Node and kills it (as the end-to-end tests do).
export default defineConfig({
	test: {
		projects: [
			{
				plugins: [
					cloudflareTest({
						wrangler: { configPath: "./wrangler.toml" },
						// Alarm runs of 5 attempts: runs end often, so attempts still waiting for an answer
						// are carried past their run (src/topic/dispatcher.ts) all through these tests.
						miniflare: { bindings: { ...TEST_BINDINGS, SUNDIAL_MAX_DELIVERIES_PER_ALARM: "5" } },
					}),
				],
				test: {
					name: "workerd",
					include: ["test/reliability/workerd/**/*.test.ts"],
					globalSetup: ["./test/support/global-receiver.ts"],
					testTimeout: 600_000,
				},
			},
			{
				test: {
					name: "runtime",
					environment: "node",
					include: ["test/reliability/runtime/**/*.test.ts"],
					testTimeout: 600_000,
					hookTimeout: 120_000,
					fileParallelism: false,
				},
			},
		],
	},
});
