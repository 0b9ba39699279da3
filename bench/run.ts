import { mkdirSync } from "node:fs";
import os from "node:os";
import { resolveCommit, startBaseline } from "./baseline.ts";
import { useRespClient } from "./bullmq-connection.ts";
import { startChild } from "./children.ts";
import { type Options, parseOptions } from "./options.ts";
import { runScenarios } from "./plan.ts";
import { type RedisServer, redisVersion, startRedis } from "./redis.ts";
import { machineFacts, summarize, writeReport } from "./report.ts";
import type { Baseline, Receiver, Services } from "./scenarios/common.ts";
import { partitionsSupported, type SundialBench, startSundial } from "./sundial.ts";
import { elapsedS, progress } from "./util.ts";

/**
 * `npm run bench`: Sundial (plain workerd, or wrangler dev with --runtime=wrangler) against BullMQ + Redis on this machine, every scenario of
 * issue 6 and the partition scenarios of issue 10, alternating systems per repetition (`--systems=sundial`:
 * Sundial alone, no Redis); writes BENCHMARKS.md, bench-results.json and bench-lateness.svg to --out
 * (docs/ by default). Exit 0 = every scenario produced numbers for every system that ran; 1 = some did
 * not; 2 = the flags are wrong, or BullMQ is to run and redis-server is missing.
 */

// Ctrl-C or a kill: exit, so that the exit hooks of wrangler.ts, children.ts, redis.ts and sundial.ts
// stop every process the bench started and remove its temp state.
for (const [signal, code] of [
	["SIGINT", 130],
	["SIGTERM", 143],
	["SIGHUP", 129],
] as const) {
	process.on(signal, () => {
		process.stderr.write(`bench: ${signal}, stopping\n`);
		process.exit(code);
	});
}

async function main(): Promise<number> {
	let o: Options;
	try {
		o = parseOptions(process.argv.slice(2));
	} catch (err) {
		process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
		return 2;
	}
	try {
		if (o.baseline) resolveCommit(o.baseline);
	} catch (err) {
		process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
		return 2;
	}
	const redisV = o.bullmq ? redisVersion() : null;
	if (o.bullmq && redisV === null) {
		process.stderr.write(
			"bench: redis-server is not installed (BullMQ needs it). Install Debian's package:\n" +
				"  apt-get install -y redis-server\n",
		);
		return 2;
	}
	mkdirSync(o.out, { recursive: true });
	if (o.bullmq) useRespClient();
	const loadStart = os.loadavg();
	progress(`${o.smoke ? "smoke" : "full"} run: ${o.command}; output → ${o.out}`);

	const started: { stop(): Promise<void> }[] = [];
	try {
		const redisNote = o.bullmq ? "redis-server (hz 10 and hz 100), " : "no Redis (--systems=sundial), ";
		progress(`starting the receiver, ${redisNote}and Sundial (${o.runtime})`);
		const receiverChild = startChild("receiver-process.ts", {});
		started.push(receiverChild);
		const ready = await receiverChild.next<{ type: string; url: string }>("ready");
		const receiver: Receiver = { url: ready.url, child: receiverChild };
		let redis10: RedisServer | null = null;
		let redis100: RedisServer | null = null;
		if (o.bullmq) {
			redis10 = await startRedis(null);
			started.push(redis10);
			redis100 = await startRedis(100);
			started.push(redis100);
		}
		const sundial: SundialBench = await startSundial(o.runtime);
		started.push(sundial);
		const partitions = await partitionsSupported(sundial);
		let baseline: Baseline | null = null;
		if (o.baseline) {
			baseline = await startBaseline(o.runtime, o.baseline);
			started.push(baseline.sundial);
			progress(`up: ${baseline.system} (${baseline.commit}) ${baseline.sundial.url}`);
		}
		const svc: Services = { sundial, receiver, redis10, redis100, partitions, baseline };
		const redisUp =
			redis10 && redis100
				? `, Redis :${redis10.port} (hz ${redis10.hz}) and :${redis100.port} (hz ${redis100.hz})`
				: "";
		const partitionsUp = partitions ? "takes partitions" : "no partitions: P > 1 runs are skipped";
		progress(`up: Sundial ${sundial.url} (${partitionsUp})${redisUp}`);

		const renew = async () => {
			await svc.sundial.stop();
			svc.sundial = await startSundial(o.runtime);
			started.push(svc.sundial);
			if (svc.redis10) {
				await svc.redis10.stop();
				svc.redis10 = await startRedis(null);
				started.push(svc.redis10);
			}
		};
		const records = await runScenarios(svc, o, renew);
		const facts = machineFacts(redisV, loadStart);
		if (baseline) facts["baseline (--baseline)"] = `${baseline.ref} = ${baseline.commit}`;
		const summary = summarize(records, o, svc.partitions);
		const files = writeReport(o, facts, records, summary);
		progress(`wrote ${files.join(", ")} in ${elapsedS().toFixed(0)} s`);
		const missing = summary.filter((row) => row.required && !row.complete);
		for (const row of missing) progress(`NO NUMBERS: #${row.scenario} ${row.figure}`);
		return missing.length > 0 ? 1 : 0;
	} finally {
		progress("stopping everything the bench started");
		for (const s of started.reverse()) await s.stop().catch(() => undefined);
	}
}

main().then(
	(code) => process.exit(code),
	(err: unknown) => {
		process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
		process.exit(1);
	},
);
