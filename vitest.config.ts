import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { TEST_BINDINGS } from "./vitest.bindings.ts";

/** The `/v2` (QStash-compatible) tests: they share the system topic, so each runs in a runtime of its own. */
const V2_FILES = "test/unit/qstash-*.test.ts";

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
		// Most files share one runtime (`isolate: false`: a fresh one per file cost ~1.7 s each, over
		// half the run); they use topics of their own. The `/v2` files read and clear the one system
		// topic and its URL groups, so each of them gets a runtime of its own.
		projects: [
			{
				extends: true,
				test: {
					name: "sundial",
					include: ["test/unit/**/*.test.ts"],
					exclude: [...configDefaults.exclude, V2_FILES],
					isolate: false,
				},
			},
			{ extends: true, test: { name: "sundial-v2", include: [V2_FILES] } },
			"./vitest.outbox.config.ts",
		],
		globalSetup: ["./test/support/global-receiver.ts"],
		testTimeout: 30_000,
		// Sundial's structured log lines (src/log.ts: every failed attempt, every alarm run) would fill the
		// output of a run; test/unit/logs.test.ts reads them through a spy instead.
		onConsoleLog: (log) => !log.startsWith('{"level":'),
	},
});
