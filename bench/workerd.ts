import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { freePort, startServer, type WorkerProcess } from "../test/support/server-process.ts";
import { repoRoot } from "../test/support/wrangler.ts";

/**
 * Sundial under plain `workerd` (the runtime binary that `wrangler dev` itself runs), without
 * wrangler's dev front: no proxy worker, no inspector session, no per-request log. Measured here,
 * that front caps even `GET /health` at ~470 req/s (50 in flight), while workerd alone answers
 * ~5,500 req/s, so it would hide every request-rate figure. The Worker is the same bundle
 * `wrangler deploy` uploads (`wrangler deploy --dry-run --outdir`), configured from wrangler.toml:
 * compatibility date and flags, Durable Object bindings (SQLite storage on disk) and vars. Queue
 * bindings are left out (plain workerd has no local queue broker; no scenario uses them).
 */

/** What the bench needs of wrangler.toml. */
interface AppConfig {
	compatibilityDate: string;
	compatibilityFlags: string[];
	durableObjects: { binding: string; className: string }[];
	vars: Record<string, string>;
}

/** Reads the few keys the bench needs; fails loudly when the file has a shape it does not know. */
export function readAppConfig(tomlPath: string): AppConfig {
	const text = readFileSync(tomlPath, "utf8").replace(/^\s*#.*$/gm, "");
	const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1];
	if (!date) throw new Error(`${tomlPath}: no compatibility_date`);
	const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? "";
	const durableObjects = [...text.matchAll(/\[\[durable_objects\.bindings\]\]([^[]*)/g)].map((m) => {
		const block = m[1] ?? "";
		const binding = /name\s*=\s*"([^"]+)"/.exec(block)?.[1];
		const className = /class_name\s*=\s*"([^"]+)"/.exec(block)?.[1];
		if (!binding || !className) throw new Error(`${tomlPath}: a durable_objects binding without name/class_name`);
		return { binding, className };
	});
	const varsBlock = /^\[vars\]\s*$([^[]*)/m.exec(text)?.[1] ?? "";
	const vars: Record<string, string> = {};
	for (const m of varsBlock.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/gm))
		vars[m[1] as string] = m[2] ?? "";
	return {
		compatibilityDate: date,
		compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string),
		durableObjects,
		vars,
	};
}

const capnpString = (s: string) => JSON.stringify(s);

/** The workerd config: one HTTP socket, the Worker, its objects' storage on `stateDir`, loopback fetches allowed. */
export function workerdConfig(app: AppConfig, opts: { port: number; stateDir: string; module: string }): string {
	const bindings = [
		...app.durableObjects.map(
			(d) => `(name = ${capnpString(d.binding)}, durableObjectNamespace = ${capnpString(d.className)})`,
		),
		...Object.entries(app.vars).map(([k, v]) => `(name = ${capnpString(k)}, text = ${capnpString(v)})`),
	];
	const namespaces = app.durableObjects.map(
		(d) =>
			`(className = ${capnpString(d.className)}, uniqueKey = ${capnpString(`sundial-${d.className}`)}, enableSql = true)`,
	);
	return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "state", disk = (path = ${capnpString(opts.stateDir)}, writable = true)),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = ${capnpString(`127.0.0.1:${opts.port}`)}, http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${capnpString(opts.module)})],
  compatibilityDate = ${capnpString(app.compatibilityDate)},
  compatibilityFlags = [${app.compatibilityFlags.map(capnpString).join(", ")}],
  durableObjectNamespaces = [${namespaces.join(", ")}],
  durableObjectStorage = (localDisk = "state"),
  bindings = [${bindings.join(", ")}],
);
`;
}

/** The `workerd` package wrangler depends on (its binary is what `wrangler dev` runs). */
function workerdPackage(): { default: string; version: string } {
	const fromWrangler = createRequire(join(repoRoot, "node_modules", "wrangler", "package.json"));
	return fromWrangler("workerd") as { default: string; version: string };
}

/** The workerd binary wrangler runs. */
export function workerdBinary(): string {
	return workerdPackage().default;
}

/** Its version, for the report. */
export function workerdVersion(): string {
	return workerdPackage().version;
}

/**
 * Bundles the app in `appDir` (a copy holding wrangler.toml and src/) and serves it with workerd on
 * 127.0.0.1; `vars` override wrangler.toml's [vars]; object storage goes to `stateDir`.
 */
export async function startWorkerd(opts: {
	appDir: string;
	stateDir: string;
	vars: Record<string, string>;
}): Promise<WorkerProcess> {
	const toml = join(opts.appDir, "wrangler.toml");
	execFileSync(
		join(repoRoot, "node_modules", ".bin", "wrangler"),
		["deploy", "--dry-run", "--outdir", join(opts.appDir, "dist"), "--config", toml],
		{
			cwd: opts.appDir,
			stdio: ["ignore", "ignore", "pipe"],
			env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
		},
	);
	const app = readAppConfig(toml);
	app.vars = { ...app.vars, ...opts.vars };
	const port = await freePort();
	const config = join(opts.appDir, "workerd.capnp");
	writeFileSync(config, workerdConfig(app, { port, stateDir: opts.stateDir, module: "dist/index.js" }));
	return startServer({
		label: "workerd",
		command: workerdBinary(),
		args: ["serve", "--experimental", config],
		cwd: opts.appDir,
		env: { ...process.env },
		port,
	});
}
