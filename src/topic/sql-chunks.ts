/** Multi-row statements within a Durable Object's limit of 100 bound parameters per statement. */

/**
 * Calls `run` for `rows` in chunks: each with the `(?, …), (?, …)` text of its tuples and their
 * values in order. A chunk binds at most 99 values, leaving one for the statement's own parameter.
 */
export function inChunks(
	rows: readonly SqlStorageValue[][],
	run: (tuples: string, values: SqlStorageValue[]) => void,
): void {
	const width = rows[0]?.length ?? 0;
	if (width === 0) return;
	const per = Math.floor(99 / width);
	const tuple = `(${Array(width).fill("?").join(", ")})`;
	for (let i = 0; i < rows.length; i += per) {
		const chunk = rows.slice(i, i + per);
		run(Array(chunk.length).fill(tuple).join(", "), chunk.flat());
	}
}
