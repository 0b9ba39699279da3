import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, repoRoot } from "../support/wrangler.js";

/** `npm start`'s first step (scripts/dev.mjs) refuses ports it cannot have before it writes or starts anything. */

const run = (env: Record<string, string>) =>
	promisify(execFile)(process.execPath, [join(repoRoot, "scripts", "dev.mjs")], {
		cwd: repoRoot,
		env: { ...process.env, ...env },
	}).then(
		(r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
		(e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
	);

describe("npm start's port check (scripts/dev.mjs)", () => {
	let busy: Server;
	let port: number;
	beforeAll(async () => {
		busy = createServer();
		await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
		port = (busy.address() as { port: number }).port;
	});
	afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

	it("stops with the variable to set when the port is taken (another server is never taken for Sundial)", async () => {
		const got = await run({ SUNDIAL_PORT: String(port) });
		expect(got.code).toBe(1);
		expect(got.stderr).toContain(`127.0.0.1:${port} is in use`);
		expect(got.stderr).toContain("SUNDIAL_PORT=<port> npm start");
		expect(got.stdout).toBe("");
	});

	it("names the example's variable when its port is the one taken", async () => {
		const got = await run({ SUNDIAL_PORT: String(await freePort()), SUNDIAL_EXAMPLE_PORT: String(port) });
		expect(got.code).toBe(1);
		expect(got.stderr).toContain("SUNDIAL_EXAMPLE_PORT=<port> npm start");
	});

	it("refuses one port for both with exit 2", async () => {
		const got = await run({ SUNDIAL_PORT: "9787", SUNDIAL_EXAMPLE_PORT: "9787" });
		expect(got.code).toBe(2);
		expect(got.stderr).toContain("both 9787");
	});

	it.each(["0", "70000", "http"])("refuses SUNDIAL_PORT=%s with exit 2", async (value) => {
		const got = await run({ SUNDIAL_PORT: value });
		expect(got.code).toBe(2);
		expect(got.stderr).toContain(`SUNDIAL_PORT=${value} is not a port`);
	});
});
