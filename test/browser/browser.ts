import { accessSync, constants, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { repoRoot } from "../support/wrangler.js";

/** Where screenshots go (gitignored). */
export const SHOTS_DIR = join(repoRoot, "test-results", "browser");

/** The browser binary: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. playwright-core never downloads one. */
export function chromiumPath(): string {
	const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
	try {
		accessSync(path, constants.X_OK);
	} catch {
		throw new Error(
			`no browser at ${path}: the browser tests need Chromium. Install it (apt-get install -y chromium) ` +
				"or set CHROMIUM_PATH to a Chromium binary. .ci/run installs it.",
		);
	}
	return path;
}

/** Launches headless Chromium (without its sandbox when running as root, which it refuses otherwise). */
export async function launch(): Promise<Browser> {
	mkdirSync(SHOTS_DIR, { recursive: true });
	const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
	return chromium.launch({
		executablePath: chromiumPath(),
		headless: true,
		args: asRoot ? ["--no-sandbox"] : [],
	});
}
