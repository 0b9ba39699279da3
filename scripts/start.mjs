#!/usr/bin/env node
// `npm start` runs this after scripts/dev.mjs: Sundial under `wrangler dev` on 127.0.0.1:8787 and the
// outbox example (examples/orders) on 127.0.0.1:8788 (or $SUNDIAL_PORT, $SUNDIAL_EXAMPLE_PORT), two processes. One `wrangler dev -c A -c B`
// session would run both Workers, but wrangler 4.164 serves only the first config over HTTP (the
// others get no port), and the example must take HTTP requests. Its service binding to Sundial's
// PublishEntrypoint connects through wrangler's local dev registry instead. Ctrl-C (or either
// process ending) stops both.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { examplePort, sundialPort } from "./ports.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");

const sundial = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", String(sundialPort)], {
	cwd: root,
	stdio: "inherit",
});
const children = [sundial];
let stopping = false;

function stopAll(code) {
	if (stopping) return;
	stopping = true;
	for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
	process.exitCode = code ?? 0;
}
sundial.on("exit", (code) => stopAll(code));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stopAll(0));

/** Resolves once Sundial answers /health: two wrangler processes starting at once can pick the same free port. */
async function sundialReady() {
	for (let tries = 0; tries < 600 && !stopping; tries++) {
		try {
			const res = await fetch(`http://127.0.0.1:${sundialPort}/health`, { signal: AbortSignal.timeout(1_000) });
			await res.arrayBuffer();
			if (res.ok) return true;
		} catch {
			// not listening yet
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	return false;
}

if (await sundialReady()) startExample();

function startExample() {
	const example = spawn(
		wrangler,
		[
			"dev",
			...["--config", join(root, "examples", "orders", "wrangler.toml")],
			...["--ip", "127.0.0.1", "--port", String(examplePort)],
			"--show-interactive-dev-session=false",
		],
		{ cwd: root, stdio: ["ignore", "pipe", "pipe"] },
	);
	children.push(example);
	example.on("exit", (code) => stopAll(code));
	// The example's output, each line marked, so it reads apart from Sundial's.
	for (const stream of [example.stdout, example.stderr]) {
		let carry = "";
		stream.setEncoding("utf8");
		stream.on("data", (chunk) => {
			const lines = (carry + chunk).split("\n");
			carry = lines.pop() ?? "";
			for (const line of lines) process.stdout.write(`[orders example] ${line}\n`);
		});
	}
}
