import cliProgress from "cli-progress";

/** What the import shows while it runs. */
export interface Progress {
	update(done: number, stats: { failed: number }): void;
	stop(): void;
}

/**
 * A progress bar on stderr (cli-progress): count, rate, ETA; without a known total (stdin) just the
 * count and rate. Drawn when stderr is a terminal, or always with `force` (then as a line per second).
 */
export function startProgress(total: number | undefined, force: boolean | undefined): Progress {
	const show = force ?? Boolean(process.stderr.isTTY);
	if (!show) return { update() {}, stop() {} };
	const startedMs = Date.now();
	const format =
		total === undefined
			? "publishing {value} messages | {rate}/s | {failed} failed | {elapsed}s"
			: "publishing [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted} | {failed} failed";
	const bar = new cliProgress.SingleBar(
		{
			format,
			stream: process.stderr,
			noTTYOutput: force === true,
			notTTYSchedule: 1000,
			hideCursor: true,
			etaBuffer: 50,
			fps: 5,
			barsize: 30,
		},
		cliProgress.Presets.shades_classic,
	);
	const payload = (done: number, failed: number) => {
		const seconds = (Date.now() - startedMs) / 1000;
		return { rate: seconds > 0 ? Math.round(done / seconds) : 0, failed, elapsed: Math.round(seconds) };
	};
	bar.start(total ?? 0, 0, payload(0, 0));
	return {
		update(done, stats) {
			if (total === undefined) bar.setTotal(done);
			bar.update(done, payload(done, stats.failed));
		},
		stop() {
			bar.stop();
		},
	};
}
