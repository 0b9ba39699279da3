/**
 * Maps `items` through `fn` with at most `limit` calls running at once; results keep input order.
 * On the first failure no further item is started and the returned promise rejects with it
 * (calls already running finish, their results dropped).
 */
export async function mapBounded<T, R>(
	items: readonly T[],
	limit: number,
	fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
	if (!(limit >= 1)) throw new RangeError(`mapBounded: limit must be at least 1, got ${limit}`);
	const results = new Array<R>(items.length);
	let next = 0;
	let failed = false;
	async function worker(): Promise<void> {
		while (!failed && next < items.length) {
			const index = next++;
			try {
				results[index] = await fn(items[index] as T, index);
			} catch (error) {
				failed = true;
				throw error;
			}
		}
	}
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return results;
}
