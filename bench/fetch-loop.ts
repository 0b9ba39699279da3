import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, startServer } from "../test/support/server-process.ts";
import { stateBase } from "./util.ts";
import { workerdBinary, workerdConfig } from "./workerd.ts";

/**
 * A workerd with no Durable Object, SQL or Sundial code that POSTs to a URL as fast as it can with a
 * given number of requests in flight: the local ceiling of what any Worker here can send. Two modes:
 * "plain" (fetch, read the body) and "webhook" (as Sundial sends: 12 headers, an HMAC-SHA256
 * signature, a timeout timer, the body read through a reader).
 */

const WORKER = `
const key = crypto.subtle.importKey("raw", new Uint8Array(32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
export default {
	async fetch(request) {
		const url = new URL(request.url);
		if (url.pathname === "/health") return new Response("ok");
		const n = Number(url.searchParams.get("n")), to = url.searchParams.get("to"), webhook = url.searchParams.get("mode") === "webhook";
		const inFlight = Number(url.searchParams.get("inflight"));
		let sent = 0;
		const one = async () => {
			if (!webhook) return (await fetch(to, { method: "POST", body: "{}" })).arrayBuffer();
			const abort = new AbortController();
			const timer = setTimeout(() => abort.abort(), 30000);
			const headers = new Headers();
			for (let h = 0; h < 11; h++) headers.set("x-h" + h, "value-" + h);
			const mac = await crypto.subtle.sign("HMAC", await key, new TextEncoder().encode("id." + sent + ".{}"));
			headers.set("webhook-signature", "v1," + btoa(String.fromCharCode(...new Uint8Array(mac))));
			const response = await fetch(to, { method: "POST", body: "{}", headers, signal: abort.signal, redirect: "manual" });
			const reader = response.body.getReader();
			while (!(await reader.read()).done);
			clearTimeout(timer);
		};
		const t0 = Date.now();
		await Promise.all(Array.from({ length: inFlight }, async () => { while (sent++ < n) await one(); }));
		return Response.json({ perSecond: n / ((Date.now() - t0) / 1000) });
	},
};
`;

/** How the loop sends. */
export type FetchMode = "plain" | "webhook";

/** A running fetch loop: `rate()` runs one measurement. */
export interface FetchLoop {
	/** POSTs `n` requests to `to` with `inFlight` open at once; resolves with requests/s. */
	rate(to: string, o: { n: number; inFlight: number; mode: FetchMode }): Promise<number>;
	stop(): Promise<void>;
}

/** Starts the loop's workerd on 127.0.0.1 (the same config shape as Sundial's bench runs). */
export async function startFetchLoop(): Promise<FetchLoop> {
	const dir = mkdtempSync(join(stateBase(), "sundial-fetch-loop-"));
	try {
		writeFileSync(join(dir, "worker.js"), WORKER);
		const port = await freePort();
		const app = { compatibilityDate: "2026-11-01", compatibilityFlags: [], durableObjects: [], vars: {} };
		writeFileSync(join(dir, "config.capnp"), workerdConfig(app, { port, stateDir: dir, module: "worker.js" }));
		const workerd = await startServer({
			label: "workerd",
			command: workerdBinary(),
			args: ["serve", "--experimental", join(dir, "config.capnp")],
			cwd: dir,
			env: { ...process.env },
			port,
			cleanup: () => rmSync(dir, { recursive: true, force: true }),
		});
		return {
			async rate(to, o) {
				const q = new URLSearchParams({ n: String(o.n), inflight: String(o.inFlight), mode: o.mode, to });
				const res = await fetch(`${workerd.url}/run?${q}`, { signal: AbortSignal.timeout(120_000) });
				if (res.status !== 200) throw new Error(`fetch loop: ${res.status} ${(await res.text()).slice(0, 200)}`);
				return ((await res.json()) as { perSecond: number }).perSecond;
			},
			stop: () => workerd.stop(),
		};
	} catch (error) {
		rmSync(dir, { recursive: true, force: true });
		throw error;
	}
}
