/** Most outbound requests one object has waiting for headers at once (PLATFORM.md §1). */
export const MAX_CONCURRENT_DELIVERIES = 6;

/**
 * Runs `fn` over `items` with at most `concurrency` calls in progress; results keep the order of
 * `items`. `fn` must not throw (a throw rejects the whole pool).
 */
export async function runPool<T, R>(
	items: readonly T[],
	concurrency: number,
	fn: (item: T) => Promise<R>,
): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const worker = async (): Promise<void> => {
		while (next < items.length) {
			const index = next++;
			results[index] = await fn(items[index] as T);
		}
	};
	const workers = Array.from({ length: Math.min(concurrency, items.length) }, worker);
	await Promise.all(workers);
	return results;
}
