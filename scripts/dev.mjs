#!/usr/bin/env node
// `npm start` runs this, then scripts/start.mjs (Sundial and the outbox example under `wrangler dev`):
// on first run it writes a random dev token into .dev.vars (git-ignored); every run prints the URLs
// and the token.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { examplePort, requireFreePorts, sundialPort } from "./ports.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const varsPath = join(root, ".dev.vars");
await requireFreePorts();

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

// QStash-compatible signing keys for /v2 (sig_ + 28 base58 characters, as QStash's look).
const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const signingKey = () => `sig_${Array.from(randomBytes(28), (b) => BASE58[b % 58]).join("")}`;
if (!vars.SUNDIAL_QSTASH_CURRENT_SIGNING_KEY || !vars.SUNDIAL_QSTASH_NEXT_SIGNING_KEY) {
	const lines = [
		"# /v2 (QStash-compatible) signing keys: give them to @upstash/qstash's Receiver.",
		`SUNDIAL_QSTASH_CURRENT_SIGNING_KEY="${vars.SUNDIAL_QSTASH_CURRENT_SIGNING_KEY || signingKey()}"`,
		`SUNDIAL_QSTASH_NEXT_SIGNING_KEY="${vars.SUNDIAL_QSTASH_NEXT_SIGNING_KEY || signingKey()}"`,
	];
	const kept = readFileSync(varsPath, "utf8")
		.split("\n")
		.filter((line) => !/^\s*SUNDIAL_QSTASH_(CURRENT|NEXT)_SIGNING_KEY\s*=/.test(line))
		.join("\n")
		.trimEnd();
	writeFileSync(varsPath, `${kept}\n${lines.join("\n")}\n`, { mode: 0o600 });
	vars = readVars();
	console.log(`sundial: wrote QStash signing keys to ${varsPath}`);
}

const url = `http://127.0.0.1:${sundialPort}`;
const exampleUrl = `http://127.0.0.1:${examplePort}`;
console.log(`
  Sundial (local, wrangler dev; state persists in .wrangler/state)
  URL:    ${url}
  Token:  ${vars.SUNDIAL_TOKEN}
  Docs:   ${url}/docs
  Dashboard: ${url}/dash (sign in with the token)
  Metrics:   ${url}/metrics (bearer token, Prometheus text)
  QStash signing keys (/v2): current ${vars.SUNDIAL_QSTASH_CURRENT_SIGNING_KEY}
                             next    ${vars.SUNDIAL_QSTASH_NEXT_SIGNING_KEY}

  export URL=${url} TOKEN=${vars.SUNDIAL_TOKEN}
  curl -X PUT $URL/v1/topics/orders -H "authorization: Bearer $TOKEN" -d '{"retention":"7d"}'

  Outbox example (examples/orders, its own wrangler dev; see its README.md)
  URL:    ${exampleUrl}
  curl -X POST ${exampleUrl}/orders -d '{"customer":"ada","item":"tea","remind_in":"10s"}'
`);
