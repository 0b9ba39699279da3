/**
 * The lateness histogram of `GET /v1/topics/{topic}/lateness` as SVG bars (no library, no script).
 * The route is newer than the dashboard: when the API lacks it, or answers another shape, the page
 * says "not available".
 */

/** One subscription's histogram as the API answers it. */
export interface LatenessOfSubscription {
	name: string;
	/** One count per bucket of `buckets_ms`, then one for everything later than the last bucket. */
	counts: number[];
	count: number;
	sum_ms: number;
	attempts: { delivered: number; retry: number; dead: number };
}

/** `GET /v1/topics/{topic}/lateness`. */
export interface Lateness {
	topic: string;
	buckets_ms: number[];
	subscriptions: LatenessOfSubscription[];
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** The lateness answer if it has the documented shape, else null ("not available"). */
export function asLateness(body: unknown): Lateness | null {
	const l = body as Partial<Lateness> | null;
	if (!l || !Array.isArray(l.buckets_ms) || !l.buckets_ms.every(isCount) || !Array.isArray(l.subscriptions)) {
		return null;
	}
	const buckets = l.buckets_ms.length;
	const ok = l.subscriptions.every(
		(s) =>
			typeof s?.name === "string" &&
			Array.isArray(s.counts) &&
			s.counts.length === buckets + 1 &&
			s.counts.every(isCount) &&
			isCount(s.count) &&
			isCount(s.sum_ms),
	);
	return ok ? (l as Lateness) : null;
}

const label = (bucketMs: number) => (bucketMs >= 1000 ? `${bucketMs / 1000}s` : `${bucketMs}`);

const WIDTH = 560;
const HEIGHT = 150;
const PLOT_TOP = 16;
const PLOT_HEIGHT = 100;

/** One subscription's bars: one per bucket (≤ its bound, in ms), the last for later than the last bound. */
export function Histogram(props: { bucketsMs: number[]; sub: LatenessOfSubscription }) {
	const { sub } = props;
	const labels = [...props.bucketsMs.map(label), `>${label(props.bucketsMs.at(-1) ?? 0)}`];
	const max = Math.max(1, ...sub.counts);
	const slot = WIDTH / labels.length;
	const attempts = sub.attempts ?? { delivered: 0, retry: 0, dead: 0 };
	return (
		<figure class="histogram">
			<figcaption>
				<strong>{sub.name}</strong>: {sub.count} {sub.count === 1 ? "attempt" : "attempts"}, mean{" "}
				{sub.count > 0 ? Math.round(sub.sum_ms / sub.count) : 0} ms late; delivered {attempts.delivered}, retried{" "}
				{attempts.retry}, dead {attempts.dead}
			</figcaption>
			<svg
				viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
				width={WIDTH}
				height={HEIGHT}
				role="img"
				aria-label={`lateness of ${sub.name}`}
			>
				{sub.counts.map((count, i) => {
					const h = count === 0 ? 0 : Math.max(1, Math.round((count / max) * PLOT_HEIGHT));
					const x = i * slot + 2;
					return (
						<g>
							<rect x={x} y={PLOT_TOP + PLOT_HEIGHT - h} width={slot - 4} height={h} class="bar">
								<title>{`≤ ${labels[i]} ms: ${count}`}</title>
							</rect>
							{count > 0 ? (
								<text x={x + (slot - 4) / 2} y={PLOT_TOP + PLOT_HEIGHT - h - 3} class="count">
									{count}
								</text>
							) : null}
							<text x={x + (slot - 4) / 2} y={PLOT_TOP + PLOT_HEIGHT + 14} class="axis">
								{labels[i]}
							</text>
						</g>
					);
				})}
				<text x={0} y={HEIGHT - 4} class="axis-title">
					lateness ≤ (ms unless marked s)
				</text>
			</svg>
		</figure>
	);
}

/** The histograms of every subscription, or "not available" when the API has no lateness route yet. */
export function LatenessSection(props: { lateness: Lateness | null }) {
	const { lateness } = props;
	return (
		<section class="card" id="lateness">
			<h2>Lateness</h2>
			{lateness === null ? (
				<p class="note">
					Not available: this Sundial's API has no <code>{"GET /v1/topics/{topic}/lateness"}</code> route.
				</p>
			) : lateness.subscriptions.length === 0 ? (
				<p class="note">No subscriptions.</p>
			) : (
				lateness.subscriptions.map((sub) => <Histogram bucketsMs={lateness.buckets_ms} sub={sub} />)
			)}
		</section>
	);
}
