#!/usr/bin/env node
// Fails when package-lock.json is not what `npm install` would write for package.json, so a fresh
// clone's `npm install` never rewrites the shipped lock (e.g. a hand edit, or a lock-platforms.mjs
// that orders fields unlike npm). npm resolves in a scratch copy of package.json and the lock
// (`--package-lock-only`: no node_modules, no scripts; the registry is asked only for what the lock
// lacks), and the lock it writes there must equal ours byte for byte.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "sundial-check-lock-"));
try {
	for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(root, file), join(scratch, file));
	// The workspaces' package.json files too: their dependencies are part of the lock.
	for (const dir of readdirSync(join(root, "packages"), { withFileTypes: true })) {
		const manifest = join(root, "packages", dir.name, "package.json");
		if (!dir.isDirectory() || !existsSync(manifest)) continue;
		mkdirSync(join(scratch, "packages", dir.name), { recursive: true });
		copyFileSync(manifest, join(scratch, "packages", dir.name, "package.json"));
	}
	execFileSync(
		"npm",
		["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
		{
			cwd: scratch,
			stdio: ["ignore", "ignore", "inherit"],
		},
	);
	const ours = readFileSync(join(root, "package-lock.json"), "utf8");
	const npms = readFileSync(join(scratch, "package-lock.json"), "utf8");
	if (ours !== npms) {
		const a = ours.split("\n");
		const b = npms.split("\n");
		const line = a.findIndex((text, i) => text !== b[i]);
		console.error(
			`check-lock: npm install would rewrite package-lock.json (first difference at line ${line + 1}:\n` +
				`  ours: ${a[line]?.trim()}\n  npm:  ${b[line]?.trim()})\n` +
				"Run `npm install`, then `node scripts/lock-platforms.mjs`, and commit the lock.",
		);
		process.exitCode = 1;
	} else {
		console.log("check-lock: package-lock.json is what npm install writes");
	}
} finally {
	rmSync(scratch, { recursive: true, force: true });
}
