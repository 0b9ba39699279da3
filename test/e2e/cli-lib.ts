import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../support/wrangler.js";

/** The built `sundial` command. */
export const CLI = join(repoRoot, "packages/cli/dist/cli.js");

/** Builds the SDK and the CLI to dist/ (the CLI runs as its bin does, importing the built SDK). */
export function buildCli(): void {
	const tsc = join(repoRoot, "node_modules/.bin/tsc");
	execFileSync(tsc, ["-p", "packages/sdk"], { cwd: repoRoot, stdio: "pipe" });
	execFileSync(tsc, ["-p", "packages/cli"], { cwd: repoRoot, stdio: "pipe" });
}

/** What one run of the command did. */
export interface CliRun {
	code: number;
	stdout: string;
	stderr: string;
	/** stdout parsed as JSON (for `--json` runs). */
	json<T = Record<string, unknown>>(): T;
}

/**
 * Runs `sundial …args` as a process with exactly `env` (plus PATH and HOME), so neither the
 * developer's SUNDIAL_* variables nor their config file leak in.
 */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliRun> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [CLI, ...args], {
			env: { PATH: process.env.PATH ?? "", HOME: env.HOME ?? "/nonexistent", ...env },
			stdio: ["pipe", "pipe", "pipe"],
		});
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (d: Buffer) => {
			stdout += d.toString();
		});
		child.stderr.on("data", (d: Buffer) => {
			stderr += d.toString();
		});
		child.on("error", reject);
		child.on("close", (code) =>
			resolve({
				code: code ?? -1,
				stdout,
				stderr,
				json<T>() {
					try {
						return JSON.parse(stdout) as T;
					} catch {
						throw new Error(`not JSON (exit ${code}): ${stdout.slice(0, 500)}\nstderr: ${stderr.slice(0, 500)}`);
					}
				},
			}),
		);
		child.stdin.end(input ?? "");
	});
}
