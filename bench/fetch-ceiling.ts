import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, startServer } from "../test/support/server-process.ts";
import { startChild } from "./children.ts";
import { stateBase } from "./util.ts";
import { workerdBinary, workerdConfig } from "./workerd.ts";

/**
 * `node bench/fetch-ceiling.ts`: how many webhook-like POSTs per second workerd itself sends to the
 * bench's receiver with 6 in flight, with no Durable Object, SQL or Sundial code: the local ceiling
 * under scenario 6 (push) and the 3,000/s lateness run. Two modes, 3 runs of 10,000 each, medians:
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
		await Promise.all(Array.from({ length: 6 }, async () => { while (sent++ < n) await one(); }));
		return Response.json({ perSecond: n / ((Date.now() - t0) / 1000) });
	},
};
`;

async function main(): Promise<void> {
	const dir = mkdtempSync(join(stateBase(), "sundial-fetch-ceiling-"));
	const receiver = startChild("receiver-process.ts", {});
	try {
		const { url: receiverUrl } = await receiver.next<{ type: string; url: string }>("ready");
		writeFileSync(join(dir, "worker.js"), WORKER);
		const port = await freePort();
		// The same config as Sundial's bench runs, with no objects or vars.
		const app = { compatibilityDate: "2026-11-01", compatibilityFlags: [], durableObjects: [], vars: {} };
		writeFileSync(join(dir, "config.capnp"), workerdConfig(app, { port, stateDir: dir, module: "worker.js" }));
		const workerd = await startServer({
			label: "workerd",
			command: workerdBinary(),
			args: ["serve", "--experimental", join(dir, "config.capnp")],
			cwd: dir,
			env: { ...process.env },
			port,
		});
		try {
			for (const mode of ["plain", "webhook"]) {
				const rates: number[] = [];
				for (let run = 0; run < 3; run++) {
					const res = await fetch(
						`${workerd.url}/run?n=10000&mode=${mode}&to=${encodeURIComponent(`${receiverUrl}/ceiling`)}`,
					);
					rates.push(((await res.json()) as { perSecond: number }).perSecond);
				}
				rates.sort((a, b) => a - b);
				const fmt = (v: number) => Math.round(v).toLocaleString("en");
				process.stdout.write(
					`${mode}: median ${fmt(rates[1] ?? Number.NaN)} req/s (${rates.map(fmt).join(", ")}), 6 in flight\n`,
				);
			}
		} finally {
			await workerd.stop();
		}
	} finally {
		await receiver.stop();
		rmSync(dir, { recursive: true, force: true });
	}
}

main().then(
	() => process.exit(0),
	(err: unknown) => {
		process.stderr.write(`fetch-ceiling failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
		process.exit(1);
	},
);
