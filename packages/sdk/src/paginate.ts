import type { Page, PageOptions } from "./types.js";

/**
 * Every item of a paginated list, page by page: `fetchPage` is called with each `next_cursor` until
 * one is `null`. Pages are fetched as the caller iterates, so breaking out early stops fetching.
 */
export async function* eachItem<T>(
	fetchPage: (page: PageOptions) => Promise<Page<T>>,
	options: PageOptions = {},
): AsyncGenerator<T, void, undefined> {
	let cursor = options.cursor ?? null;
	do {
		const page = await fetchPage({ ...options, cursor });
		yield* page.items;
		cursor = page.next_cursor;
	} while (cursor !== null);
}

/** The query of one page (`cursor` left out when there is none). */
export function pageQuery(page: PageOptions): { limit?: number; cursor?: string } {
	return {
		...(page.limit === undefined ? {} : { limit: page.limit }),
		...(page.cursor === undefined || page.cursor === null ? {} : { cursor: page.cursor }),
	};
}
