import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "../support/receiver.js";
import { freePort, startServer } from "../support/server-process.js";
import { startWorker, stopAll } from "../support/wrangler.js";

describe("receiver", () => {
	let rx: Receiver;
	beforeAll(async () => {
		rx = await startReceiver();
	});
	afterAll(async () => {
		await rx.close();
	});

	it("records path, method, lower-cased headers and the exact body", async () => {
		const before = Date.now();
		const body = '{"a":"héllo ☀","n":1}';
		const res = await fetch(`${rx.url}/hooks/a?x=1`, {
			method: "POST",
			headers: { "Content-Type": "application/json", "X-Trace": "t-1" },
			body,
		});
		expect(res.status).toBe(200);
		expect(await res.text()).toBe("ok");
		expect(rx.received).toHaveLength(1);
		const [r] = rx.received;
		expect(r?.path).toBe("/hooks/a");
		expect(r?.url).toBe("/hooks/a?x=1");
		expect(r?.method).toBe("POST");
		expect(r?.headers["content-type"]).toBe("application/json");
		expect(r?.headers["x-trace"]).toBe("t-1");
		expect(r?.body).toBe(body);
		expect(r?.receivedAtMs).toBeGreaterThanOrEqual(before);
		expect(r?.receivedAtMs).toBeLessThanOrEqual(Date.now());
		expect(r?.activeAtArrival).toBe(1);
	});

	it("answers with the behaviour set for a path", async () => {
		rx.behaviour("/fail", (req) => ({
			status: 503,
			headers: { "retry-after": "2" },
			body: `no ${req.method}`,
		}));
		const res = await fetch(`${rx.url}/fail`, { method: "PUT", body: "x" });
		expect(res.status).toBe(503);
		expect(res.headers.get("retry-after")).toBe("2");
		expect(await res.text()).toBe("no PUT");
	});

	it("measures concurrency with delayed answers", async () => {
		rx.clear();
		rx.behaviour("/slow", { status: 204, delayMs: 400 });
		const started = Date.now();
		const statuses = await Promise.all(
			[1, 2, 3, 4].map((i) => fetch(`${rx.url}/slow`, { method: "POST", body: String(i) }).then((r) => r.status)),
		);
		const elapsedMs = Date.now() - started;
		expect(statuses).toEqual([204, 204, 204, 204]);
		expect(elapsedMs).toBeGreaterThanOrEqual(390);
		expect(elapsedMs).toBeLessThan(1_500);
		expect(rx.maxConcurrent).toBe(4);
		expect(rx.received.map((r) => r.activeAtArrival).sort()).toEqual([1, 2, 3, 4]);
		await rx.waitFor(() => rx.active === 0, 1_000);
	});

	it("waitFor resolves on a match and rejects clearly on timeout", async () => {
		rx.clear();
		setTimeout(() => void fetch(`${rx.url}/later`), 50);
		await rx.waitFor((list) => list.some((r) => r.path === "/later"), 2_000);
		await expect(rx.waitFor((list) => list.length > 5, 100)).rejects.toThrow(
			/not met within 100 ms; 1 request\(s\) received/,
		);
	});

	it("serves the control routes for tests running inside workerd", async () => {
		rx.clear({ behaviours: true });
		const set = await fetch(`${rx.url}/_control/behaviour?path=/ctl`, {
			method: "POST",
			body: JSON.stringify({
				status: 418,
				delayMs: 20,
				headers: { "x-a": "b" },
			}),
		});
		expect(set.status).toBe(200);
		const res = await fetch(`${rx.url}/ctl`, { method: "POST", body: "hi" });
		expect(res.status).toBe(418);
		expect(res.headers.get("x-a")).toBe("b");
		await fetch(`${rx.url}/other`);
		const list = await fetch(`${rx.url}/_control/received?path=/ctl`);
		const got = (await list.json()) as Array<{ path: string; body: string }>;
		expect(got).toHaveLength(1);
		expect(got[0]).toMatchObject({ path: "/ctl", body: "hi" });
		expect(rx.received.map((r) => r.path)).toEqual(["/ctl", "/other"]);
		const stats = await (await fetch(`${rx.url}/_control/stats`)).json();
		expect(stats).toMatchObject({ count: 2, maxConcurrent: 1 });
		await fetch(`${rx.url}/_control/clear`, { method: "POST" });
		expect(rx.received).toHaveLength(0);
	});

	it("close() resolves while a request is still open", async () => {
		const other = await startReceiver();
		other.behaviour("/hang", { status: 200, delayMs: 60_000 });
		const pending = fetch(`${other.url}/hang`).catch((e: unknown) => e);
		await other.waitFor((l) => l.length === 1, 2_000);
		await other.close();
		expect(await pending).toBeInstanceOf(Error);
	});
});

// Exercises startWorker/stop/kill against a throwaway Worker (not Sundial's src/).
describe("wrangler dev harness", () => {
	const dir = mkdtempSync(join(tmpdir(), "sundial-harness-"));
	const persistDir = join(dir, "state");
	beforeAll(() => {
		mkdirSync(persistDir);
		writeFileSync(
			join(dir, "wrangler.toml"),
			'name = "harness"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n[vars]\nFROM_TOML = "toml"\n',
		);
		writeFileSync(
			join(dir, "index.js"),
			"export default { fetch: (req, env) => Response.json({ A: env.A, B: env.B, FROM_TOML: env.FROM_TOML, LEAK: env.LEAK ?? null }) };\n",
		);
		writeFileSync(join(dir, ".dev.vars"), "A=devvars\nLEAK=devvars\n");
	});
	afterAll(async () => {
		await stopAll();
		rmSync(dir, { recursive: true, force: true });
	});

	it("starts, passes vars (ignoring .dev.vars), stops, and survives kill()", async () => {
		const config = join(dir, "wrangler.toml");
		const vars = { A: "test", B: "http://x:1/?q=a=b" };
		const w = await startWorker({ persistDir, vars, config });
		const env = await (await fetch(`${w.url}/health`)).json();
		expect(env).toEqual({ ...vars, FROM_TOML: "toml", LEAK: null });
		expect(w.logs()).toContain("Ready on");
		await w.kill();
		await expect(fetch(`${w.url}/health`)).rejects.toThrow();

		const again = await startWorker({ persistDir, config, port: w.port });
		expect((await fetch(`${again.url}/health`)).status).toBe(200);
		await again.stop();
		await expect(fetch(`${again.url}/health`)).rejects.toThrow();
	});
});

describe("server process start", () => {
	afterAll(stopAll);

	it("gives up on a server that accepts connections and never answers, and stops its process group", async () => {
		const port = await freePort();
		// Accepts every connection and never writes a byte back.
		const script = `require("node:net").createServer(() => {}).listen(${port}, "127.0.0.1")`;
		const started = Date.now();
		const error = await startServer({
			label: "silent server",
			command: process.execPath,
			args: ["-e", script],
			cwd: tmpdir(),
			env: process.env,
			port,
			readyTimeoutMs: 3_000,
		}).catch((e: unknown) => e);
		expect(String(error)).toMatch(
			/silent server: \/health not 200 within 3000 ms \(last probe: no answer within 2000 ms\)/,
		);
		expect(Date.now() - started).toBeLessThan(15_000);
		await expect(portIsFree(port)).resolves.toBe(true);
	});
});

/** Whether `port` can be listened on again (the stopped server released it). */
function portIsFree(port: number): Promise<boolean> {
	return new Promise((settle) => {
		const srv = createServer();
		srv.once("error", () => settle(false));
		srv.listen(port, "127.0.0.1", () => srv.close(() => settle(true)));
	});
}
