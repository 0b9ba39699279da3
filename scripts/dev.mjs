#!/usr/bin/env node
// `npm start` runs this, then `wrangler dev`: on first run it writes a random dev token into
// .dev.vars (git-ignored); every run prints the URL and the token.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const varsPath = join(root, ".dev.vars");
const port = "8787";

function readVars() {
	if (!existsSync(varsPath)) return {};
	const vars = {};
	for (const line of readFileSync(varsPath, "utf8").split("\n")) {
		const match = /^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
		if (match) vars[match[1]] = match[2];
	}
	return vars;
}

let vars = readVars();
if (!vars.SUNDIAL_TOKEN) {
	const token = `sdl_dev_${randomBytes(18).toString("hex")}`;
	const lines = [
		"# Written by `npm start` for local development (git-ignored). Delete it to get a new token.",
		`SUNDIAL_TOKEN="${token}"`,
		"# Allows http:// and loopback webhook URLs so local receivers work. Never set this in production.",
		'SUNDIAL_ALLOW_HTTP="1"',
	];
	const existing = existsSync(varsPath) ? `${readFileSync(varsPath, "utf8").trimEnd()}\n` : "";
	writeFileSync(varsPath, `${existing}${lines.join("\n")}\n`, { mode: 0o600 });
	vars = readVars();
	console.log(`sundial: wrote a new dev token to ${varsPath}`);
}

const url = `http://127.0.0.1:${port}`;
console.log(`
  Sundial (local, wrangler dev; state persists in .wrangler/state)
  URL:    ${url}
  Token:  ${vars.SUNDIAL_TOKEN}
  Docs:   ${url}/docs

  export URL=${url} TOKEN=${vars.SUNDIAL_TOKEN}
  curl -X PUT $URL/v1/topics/orders -H "authorization: Bearer $TOKEN" -d '{"retention":"7d"}'
`);
