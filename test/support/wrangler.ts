import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startServer, type WorkerProcess } from "./server-process.ts";

export { freePort, stopAll, type WorkerProcess } from "./server-process.ts";

// Variables and `.dev.vars` (checked empirically with wrangler 4.164.0 and a throwaway
// worker; it matches getVarsForDev() in wrangler-dist/cli.js):
// - `--var K:V` overrides a `.dev.vars` value of the same key, but every other key of the
//   developer's `.dev.vars` (e.g. SUNDIAL_TOKEN) still reaches the Worker.
// - `--env-file F` makes wrangler skip `.dev.vars` entirely (even when F is empty); F's
//   values override `[vars]` of wrangler.toml.
// So each worker gets a temporary env file holding exactly `opts.vars`, and tests never
// depend on the developer's `.dev.vars`. (`--var` splits on the first ":", so values may
// contain ":"; the env file is dotenv, so values are single-quoted here.)

/** The repository root (the directory holding wrangler.toml). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Options of startWorker. */
export interface WorkerOptions {
	persistDir: string;
	vars?: Record<string, string>;
	port?: number;
	/** Wrangler config file; defaults to the repo's wrangler.toml. */
	config?: string;
}

/** How many times startWorker starts `wrangler dev` before it gives up. */
const startAttempts = 2;

/**
 * Starts `wrangler dev` on 127.0.0.1 with exactly `opts.vars`; resolves once /health answers. A start
 * that fails (wrangler's own start-up stalled now and then on a loaded 2-core machine) is reported on
 * stderr with its logs and tried once more, on fresh ports unless `opts.port` is fixed.
 */
export async function startWorker(opts: WorkerOptions): Promise<WorkerProcess> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await startOnce(opts);
		} catch (error) {
			if (attempt >= startAttempts) throw error;
			console.warn(`wrangler dev: start ${attempt} of ${startAttempts} failed, trying again: ${String(error)}`);
		}
	}
}

async function startOnce(opts: WorkerOptions): Promise<WorkerProcess> {
	const port = opts.port ?? (await freePort());
	const inspectorPort = await freePort();
	const envDir = fs.mkdtempSync(join(tmpdir(), "sundial-env-"));
	const envFile = join(envDir, "test.env");
	fs.writeFileSync(envFile, toEnvFile(opts.vars ?? {}));
	const bin = join(repoRoot, "node_modules", ".bin");
	const args = [
		"dev",
		...["--config", resolve(repoRoot, opts.config ?? "wrangler.toml")],
		...["--ip", "127.0.0.1"],
		...["--port", String(port), "--inspector-port", String(inspectorPort)],
		...["--persist-to", resolve(opts.persistDir), "--env-file", envFile],
		...["--show-interactive-dev-session=false", "--log-level", "log"],
	];
	const env: NodeJS.ProcessEnv = {
		...process.env,
		CI: "1",
		WRANGLER_SEND_METRICS: "false",
		NO_COLOR: "1",
		FORCE_COLOR: "0",
		CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true",
		PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
	};
	delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
	return startServer({
		label: "wrangler dev",
		command: join(bin, "wrangler"),
		args,
		cwd: repoRoot,
		env,
		port,
		cleanup: () => fs.rmSync(envDir, { recursive: true, force: true }),
	});
}

function toEnvFile(vars: Record<string, string>): string {
	let out = "# written by test/support/wrangler.ts\n";
	for (const [key, value] of Object.entries(vars)) {
		if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`bad var name ${key}`);
		if (/['\r\n]/.test(value)) throw new Error(`var ${key}: value may not contain ' or newlines`);
		out += `${key}='${value}'\n`;
	}
	return out;
}
