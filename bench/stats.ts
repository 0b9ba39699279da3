/** The q-quantile (0..1) of ascending `sorted`, nearest rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 0) return Number.NaN;
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
	return sorted[rank] as number;
}

/** min / median / max of the repetitions of one figure. */
export interface Spread {
	min: number;
	median: number;
	max: number;
	n: number;
}

export function spread(values: readonly number[]): Spread {
	const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
	if (v.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN, n: 0 };
	const mid = Math.floor(v.length / 2);
	const median = v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
	return { min: v[0] as number, median, max: v[v.length - 1] as number, n: v.length };
}

/** Lateness of one run: arrival − due over the first arrival of each expected id, in ms. */
export interface Lateness {
	expected: number;
	received: number;
	missing: number;
	/** Arrivals of an id already seen (at-least-once redeliveries) or of ids not expected. */
	duplicates: number;
	/** First arrivals before their due time (must be 0). */
	early: number;
	min: number;
	p50: number;
	p90: number;
	p99: number;
	max: number;
}

/** `dueOf(id, i)` gives the due time of the i-th record's id (undefined = not expected). */
export function lateness(
	expected: number,
	ids: readonly string[],
	at: readonly number[],
	dueOf: (id: string, i: number) => number | undefined,
): Lateness {
	const seen = new Set<string>();
	const late: number[] = [];
	let duplicates = 0;
	let early = 0;
	ids.forEach((id, i) => {
		const due = dueOf(id, i);
		if (due === undefined || seen.has(id)) {
			duplicates++;
			return;
		}
		seen.add(id);
		const l = (at[i] as number) - due;
		if (l < 0) early++;
		late.push(l);
	});
	late.sort((a, b) => a - b);
	return {
		expected,
		received: seen.size,
		missing: expected - seen.size,
		duplicates,
		early,
		min: quantile(late, 0),
		p50: quantile(late, 0.5),
		p90: quantile(late, 0.9),
		p99: quantile(late, 0.99),
		max: quantile(late, 1),
	};
}
