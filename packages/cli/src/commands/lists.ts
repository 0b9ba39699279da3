import type { Command } from "commander";
import type { Page, PageOptions } from "sundial-sdk";
import { integer } from "../context.js";

/** Adds `--limit`, `--cursor` and `--all` to a list command. */
export function listOptions(command: Command): Command {
	return command
		.option("--limit <n>", "items per page, 1–1000 (default 100)")
		.option("--cursor <cursor>", "the next_cursor of the previous page")
		.option("--all", "every page");
}

/** One page as the options ask, or every page (`--all`) as one. */
export async function pageOf<T>(
	options: Record<string, unknown>,
	fetchPage: (page: PageOptions) => Promise<Page<T>>,
): Promise<Page<T>> {
	const limit = options.limit === undefined ? undefined : integer(options.limit as string, "--limit", 1, 1000);
	const cursor = (options.cursor as string | undefined) ?? null;
	if (options.all !== true) return fetchPage({ limit, cursor });
	const items: T[] = [];
	let next: string | null = cursor;
	do {
		const page = await fetchPage({ limit: limit ?? 1000, cursor: next });
		items.push(...page.items);
		next = page.next_cursor;
	} while (next !== null);
	return { items, next_cursor: null };
}
