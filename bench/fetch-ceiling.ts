import { parseArgs } from "node:util";
import { startChild } from "./children.ts";
import { type FetchMode, startFetchLoop } from "./fetch-loop.ts";

/**
 * `npm run bench:fetch-ceiling [-- --in-flight=N --delay-ms=MS --n=N]`: how many webhook-like POSTs
 * per second workerd itself sends to the bench's receiver with N in flight (default 6, Sundial's cap
 * per object), with no Durable Object, SQL or Sundial code: the local ceiling under scenario 6 (push)
 * and the 3,000/s lateness run. With `--delay-ms` the receiver answers that late (scenario 7's slow
 * receiver: `--in-flight=96 --delay-ms=50` is the ceiling under 16 partitions). Both modes of
 * bench/fetch-loop.ts, 3 runs of n (default 10,000) each, medians.
 */

const USAGE = "usage: node bench/fetch-ceiling.ts [--in-flight=6] [--delay-ms=0] [--n=10000]";

function options(): { inFlight: number; delayMs: number; n: number } {
	const { values } = parseArgs({
		args: process.argv.slice(2),
		strict: true,
		options: { "in-flight": { type: "string" }, "delay-ms": { type: "string" }, n: { type: "string" } },
	});
	const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
		const v = raw === undefined ? fallback : Number(raw);
		if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} must be ${min}–${max}\n${USAGE}`);
		return v;
	};
	return {
		inFlight: int("in-flight", values["in-flight"], 6, 1, 1000),
		delayMs: int("delay-ms", values["delay-ms"], 0, 0, 10_000),
		n: int("n", values.n, 10_000, 1, 1_000_000),
	};
}

async function main(): Promise<void> {
	const o = options();
	const receiver = startChild("receiver-process.ts", {});
	try {
		const { url: receiverUrl } = await receiver.next<{ type: string; url: string }>("ready");
		const path = "/ceiling";
		await receiver.ask({ type: "reset", path, delayMs: o.delayMs }, "reset");
		const loop = await startFetchLoop();
		try {
			for (const mode of ["plain", "webhook"] as FetchMode[]) {
				const rates: number[] = [];
				for (let run = 0; run < 3; run++) {
					rates.push(await loop.rate(`${receiverUrl}${path}`, { n: o.n, inFlight: o.inFlight, mode }));
				}
				rates.sort((a, b) => a - b);
				const fmt = (v: number) => Math.round(v).toLocaleString("en");
				const slow = o.delayMs > 0 ? `, receiver answers after ${o.delayMs} ms` : "";
				process.stdout.write(
					`${mode}: median ${fmt(rates[1] ?? Number.NaN)} req/s (${rates.map(fmt).join(", ")}), ${o.inFlight} in flight${slow}\n`,
				);
			}
		} finally {
			await loop.stop();
		}
	} finally {
		await receiver.stop();
	}
}

main().then(
	() => process.exit(0),
	(err: unknown) => {
		process.stderr.write(`fetch-ceiling failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
		process.exit(1);
	},
);
