import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { BatchItemResult, PublishInput, Sundial } from "sundial-sdk";
import { startProgress } from "./progress.js";

/** What to import and how. */
export interface ImportOptions {
	topic: string;
	/** An NDJSON file, or `"-"` for stdin. */
	source: string;
	/** Lines per request (≤ 1000). */
	batchSize: number;
	/** Requests in flight at once. */
	concurrency: number;
	/** Prefix of the ids given to lines without one; default from the file's content (stdin: random). */
	idPrefix?: string;
	/** Progress bar: forced on, off, or (undefined) when stderr is a terminal. */
	progress?: boolean;
	stdin?: Readable;
}

/** A line that was not published. */
export interface LineError {
	line: number;
	id?: string;
	code: string;
	message: string;
}

/** What an import did. */
export interface ImportSummary {
	topic: string;
	/** Non-blank lines read. */
	lines: number;
	published: number;
	/** Lines whose id was published before (an earlier run of the same import, say). */
	duplicates: number;
	failed: number;
	/** The first 100 failures. */
	errors: LineError[];
	/** Lines never sent because a request failed for good (re-run to resume). */
	unsent: number;
	id_prefix: string;
	elapsed_ms: number;
	per_second: number;
	/** The request failure that stopped the import, if one did. */
	stopped_by: { status: number; code: string; message: string } | null;
}

type Item = { line: number; message: PublishInput };

/**
 * Publishes every line of an NDJSON file or stdin (each a message as the API takes it) in batches,
 * several requests at once. A line without an `id` gets `{prefix}-{line number}`, the prefix coming
 * from the file's content, so running the same import again publishes nothing twice (its lines are
 * duplicates) and a request that failed can be retried as is. The client retries failed requests;
 * one that fails for good stops the import (what was sent stays sent: run it again to resume).
 */
export async function importNdjson(client: Sundial, options: ImportOptions): Promise<ImportSummary> {
	const startedMs = Date.now();
	const fromStdin = options.source === "-";
	const scan = fromStdin ? undefined : await scanFile(options.source);
	const prefix = options.idPrefix ?? (scan ? `imp-${scan.sha256.slice(0, 16)}` : `stdin-${randomUUID().slice(0, 8)}`);
	const summary: ImportSummary = {
		topic: options.topic,
		lines: 0,
		published: 0,
		duplicates: 0,
		failed: 0,
		errors: [],
		unsent: 0,
		id_prefix: prefix,
		elapsed_ms: 0,
		per_second: 0,
		stopped_by: null,
	};
	const fail = (error: LineError) => {
		summary.failed++;
		if (summary.errors.length < 100) summary.errors.push(error);
	};
	const progress = startProgress(scan?.lines, options.progress);
	const done = () => summary.published + summary.duplicates + summary.failed;
	const inFlight = new Set<Promise<void>>();

	const send = async (batch: Item[]) => {
		let results: BatchItemResult[];
		try {
			results = await client.messages.publishBatch(
				options.topic,
				batch.map((b) => b.message),
				{ batchSize: options.batchSize },
			);
		} catch (error) {
			summary.unsent += batch.length;
			const e = error as { status?: number; code?: string; message?: string };
			summary.stopped_by ??= { status: e.status ?? 0, code: e.code ?? "error", message: e.message ?? String(error) };
			return;
		}
		results.forEach((result, i) => {
			const { line, message } = batch[i] as Item;
			if ("error" in result) fail({ line, id: message.id, code: result.error.code, message: result.error.message });
			else if (result.duplicate) summary.duplicates++;
			else summary.published++;
		});
		progress.update(done(), summary);
	};
	const dispatch = async (batch: Item[]) => {
		while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
		if (summary.stopped_by) {
			summary.unsent += batch.length;
			return;
		}
		const task = send(batch).finally(() => inFlight.delete(task));
		inFlight.add(task);
	};

	const input = fromStdin ? (options.stdin ?? process.stdin) : createReadStream(options.source);
	const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
	let batch: Item[] = [];
	let lineNo = 0;
	try {
		for await (const text of lines) {
			lineNo++;
			if (text.trim() === "") continue;
			summary.lines++;
			if (summary.stopped_by) {
				summary.unsent++;
				continue;
			}
			const parsed = parseLine(text);
			if (typeof parsed === "string") {
				fail({ line: lineNo, code: "invalid_line", message: parsed });
				continue;
			}
			batch.push({
				line: lineNo,
				message: parsed.id === undefined ? { ...parsed, id: `${prefix}-${lineNo}` } : parsed,
			});
			if (batch.length >= options.batchSize) {
				await dispatch(batch);
				batch = [];
			}
		}
		if (batch.length > 0) await dispatch(batch);
		await Promise.all(inFlight);
	} finally {
		lines.close();
		progress.update(done(), summary);
		progress.stop();
	}
	summary.elapsed_ms = Date.now() - startedMs;
	summary.per_second = Math.round((done() / Math.max(1, summary.elapsed_ms)) * 1000);
	return summary;
}

/** A line as a message, or why it is not one. */
function parseLine(text: string): PublishInput | string {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		return "not JSON";
	}
	if (value === null || typeof value !== "object" || Array.isArray(value)) {
		return 'not a JSON object (each line is a message: {"body": …, "delay": …, "id": …})';
	}
	return value as PublishInput;
}

/** The file's SHA-256 and non-blank line count (one pass, before sending: it names the import's ids). */
async function scanFile(path: string): Promise<{ sha256: string; lines: number }> {
	const hash = createHash("sha256");
	let lines = 0;
	const reader = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
	for await (const text of reader) {
		hash.update(text).update("\n");
		if (text.trim() !== "") lines++;
	}
	return { sha256: hash.digest("hex"), lines };
}
