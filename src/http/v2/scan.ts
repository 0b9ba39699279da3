import { z } from "@hono/zod-openapi";
import { mapBounded } from "../../concurrency";
import type { AppEnv } from "../../config";
import { queueKey } from "../../delivery/qstash-flow-control";
import { readDlqId, readGroupMessageId } from "../../delivery/qstash-ids";
import { AppError, InvalidRequest } from "../../errors";
import { registryStub } from "../../registry/client";
import { type PartitionPage, topicClient } from "../../topic/client";
import { SYSTEM_TOPIC } from "../../topic/client/system-topic";
import type { QstashFilter, QstashRow } from "../../topic/qstash-scan";

/**
 * The lists and bulk actions of `/v2` (QSTASH.md "Filters"): which topics a query reaches, and
 * one newest-first page merged over all their partitions. The cursor is a time in unix ms (rows
 * strictly before it), as the SDK's docs describe it (`logs({ cursor: Date.now() })`); a page
 * never splits a millisecond, so such a cursor misses and repeats nothing.
 */

/** Filters every list and bulk action takes. */
const COMMON = [
	"url",
	"topicName",
	"scheduleId",
	"label",
	"callerIp",
	"host",
	"path",
	"fromDate",
	"toDate",
	"queueName",
	"flowControlKey",
	"count",
	"cursor",
] as const;
const text = () => z.string().optional();

/** A parameter that may be repeated (OR), as the OpenAPI document shows it. */
export const repeated = () => z.array(z.string()).optional().openapi({ description: "repeat the parameter" });

/** The OpenAPI shape of the filters every list and bulk action takes, with the route's own `extra`. */
export function filterQuery<T extends z.ZodRawShape>(extra: T) {
	return z.object({
		url: text(),
		topicName: text(),
		scheduleId: text(),
		label: text(),
		callerIp: text(),
		host: text(),
		path: text(),
		fromDate: text().openapi({ description: "unix ms, on createdAt" }),
		toDate: text().openapi({ description: "unix ms, on createdAt" }),
		queueName: text().openapi({ description: "messages enqueued to this queue" }),
		flowControlKey: text().openapi({ description: "messages carrying this flow-control key" }),
		count: text(),
		cursor: text().openapi({ description: "unix ms: the page holds what is older" }),
		...extra,
	});
}

/** Most ids one request may name. */
const MAX_IDS = 1000;
/** Most topics (URL groups) a query without `topicName` reaches besides the system topic. */
export const MAX_TOPICS_SCANNED = 1000;
/** Topics asked at once. */
const CONCURRENCY = 8;

export interface ScanQuery {
	filter: QstashFilter;
	/** The topics to read, or null: the system topic and every URL group. */
	topics: string[] | null;
	/** Refs by topic (when the query names ids). */
	refs: Map<string, { id: string; subscription: string | null }[]> | null;
	/** A filter that matches nothing here (a feature Sundial does not have, or only unknown ids). */
	none: boolean;
	count: number;
	cursorMs: number | null;
}

/** Where a `/v2` messageId points: the system topic's message, or one endpoint of a group's message. */
export function locateMessage(messageId: string): { topic: string; id: string; subscription: string | null } {
	return readGroupMessageId(messageId) ?? { topic: SYSTEM_TOPIC, id: messageId, subscription: null };
}

const invalid = (name: string, message: string) => new InvalidRequest(`${name}: ${message}`, [{ path: name, message }]);

function millis(name: string, value: string): number {
	if (!/^\d{1,16}$/.test(value)) throw invalid(name, "give unix milliseconds");
	return Number(value);
}

/**
 * Reads a list's or bulk action's query. Parameters outside `COMMON` + `extra` are a 400, so a
 * filter Sundial does not know never widens a bulk action.
 */
export function parseScanQuery(
	url: string,
	extra: readonly string[],
	defaults: { count: number; maxCount: number },
): ScanQuery {
	const params = new URL(url).searchParams;
	const known = new Set<string>([...COMMON, ...extra]);
	for (const key of new Set(params.keys())) {
		if (!known.has(key)) throw invalid(key, "not a filter of this route; nothing was changed");
	}
	const all = (key: string) => params.getAll(key).filter((v) => v !== "");
	const one = (key: string) => {
		const values = all(key);
		if (values.length > 1) throw invalid(key, "give it once");
		return values[0] ?? null;
	};
	const countText = one("count");
	const count = countText === null ? defaults.count : Number(countText);
	if (!Number.isInteger(count) || count < 1 || count > defaults.maxCount) {
		throw invalid("count", `give an integer from 1 to ${defaults.maxCount}`);
	}
	const cursor = one("cursor");
	const statuses = all("responseStatus").map((v) => {
		if (!/^\d{3}$/.test(v)) throw invalid("responseStatus", "give an HTTP status code");
		return Number(v);
	});
	const states = all("state").map((s) => s.toUpperCase());
	const knownStates = ["CREATED", "ACTIVE", "RETRY", "DELIVERED", "FAILED", "CANCELLED", "CANCEL_REQUESTED", "ERROR"];
	for (const s of states) {
		if (s !== "IN_PROGRESS" && !knownStates.includes(s)) throw invalid("state", `unknown state ${s}`);
	}
	const ids: { topic: string; id: string; subscription: string | null }[] = [];
	let unknownIds = 0;
	const idValues = [...all("dlqIds"), ...all("messageIds"), ...all("messageId")];
	if (idValues.length > MAX_IDS) throw invalid("ids", `at most ${MAX_IDS} ids`);
	for (const v of all("dlqIds")) {
		const ref = readDlqId(v);
		if (ref) ids.push(ref);
		else unknownIds++;
	}
	for (const v of [...all("messageIds"), ...all("messageId")]) {
		if (!/^msg_[A-Za-z0-9_-]{1,1000}$/.test(v)) {
			unknownIds++;
			continue;
		}
		ids.push(locateMessage(v));
	}
	const fromDate = one("fromDate");
	const toDate = one("toDate");
	const topicNames = all("topicName");
	let refs: ScanQuery["refs"] = null;
	let topics: string[] | null = topicNames.length > 0 ? [...new Set(topicNames)] : null;
	if (idValues.length > 0) {
		refs = new Map();
		for (const r of ids) {
			if (topics !== null && !topics.includes(r.topic)) continue;
			const list = refs.get(r.topic) ?? [];
			list.push({ id: r.id, subscription: r.subscription });
			refs.set(r.topic, list);
		}
		topics = [...refs.keys()];
	}
	return {
		filter: {
			urls: all("url"),
			hosts: all("host"),
			paths: all("path"),
			labels: all("label"),
			callerIps: all("callerIp"),
			scheduleIds: all("scheduleId"),
			fromMs: fromDate === null ? null : millis("fromDate", fromDate),
			toMs: toDate === null ? null : millis("toDate", toDate),
			refs: null,
			responseStatuses: statuses,
			states: states.flatMap((s) => (s === "IN_PROGRESS" ? ["ACTIVE", "RETRY"] : [s])),
			keys: [...all("flowControlKey"), ...all("queueName").map(queueKey)],
		},
		topics,
		refs,
		none: (idValues.length > 0 && unknownIds === idValues.length) || (topics !== null && topics.length === 0),
		count,
		cursorMs: cursor === null ? null : millis("cursor", cursor),
	};
}

/** True when the query names neither ids nor any filter (a bulk action on it reaches everything). */
export function namesNothing(q: ScanQuery): boolean {
	const f = q.filter;
	const lists = [f.urls, f.hosts, f.paths, f.labels, f.callerIps, f.scheduleIds, f.responseStatuses, f.states];
	return (
		q.refs === null &&
		q.topics === null &&
		!q.none &&
		f.fromMs === null &&
		f.toMs === null &&
		lists.every((l) => l.length === 0)
	);
}

/** The topics a query reaches. */
export async function topicsOf(env: AppEnv, q: ScanQuery): Promise<string[]> {
	if (q.none) return [];
	if (q.topics !== null) return q.topics;
	const { topics } = await registryStub(env).list(null, MAX_TOPICS_SCANNED);
	return [SYSTEM_TOPIC, ...topics.map((t) => t.name)];
}

/** The filter one topic is asked with (its own refs only). */
export function filterFor(q: ScanQuery, topic: string): QstashFilter {
	return { ...q.filter, refs: q.refs === null ? null : (q.refs.get(topic) ?? []) };
}

/** Runs `fn` on each item, at most CONCURRENCY at once; results in item order. */
export function eachLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
	return mapBounded(items, CONCURRENCY, (item) => fn(item));
}

/** A row with the topic it came from. */
export type SourcedRow = QstashRow & { topic: string };

const gone = (error: unknown) => error instanceof AppError && error.code === "topic_not_found";

/**
 * One newest-first page of dead letters or log events over every topic and partition the query
 * reaches, and the cursor of the next page (absent on the last).
 */
export async function mergedPage(
	env: AppEnv,
	kind: "dead" | "events",
	q: ScanQuery,
	consumes = false,
): Promise<{ rows: SourcedRow[]; cursor: string | undefined }> {
	const topics = await topicsOf(env, q);
	const perTopic = await eachLimited(topics, async (topic) => {
		const pages: PartitionPage[] = await topicClient(env, topic)
			.qstash.pages(kind, filterFor(q, topic), q.cursorMs, q.count)
			.catch((error: unknown) => {
				if (gone(error)) return [];
				throw error;
			});
		return pages.map((p) => ({ topic, ...p }));
	});
	const { rows, next } = mergePages(perTopic.flat(), q.count, consumes);
	return { rows, cursor: next !== null ? String(next) : undefined };
}

/** One partition's page with where it came from. */
export type SourcedPage = PartitionPage & { topic: string };

/**
 * Merges partitions' pages (each read before the same cursor) into one newest-first page of about
 * `count` rows, and the time the next page starts before (null: this is the last). A page never
 * splits a millisecond: it ends before one, or takes all of it when that millisecond alone has
 * more than `count` rows. With `consumes` (the caller deletes the rows it gets) a page has at most
 * `count` rows, and the next one starts within the last millisecond again.
 */
export function mergePages(
	pages: readonly SourcedPage[],
	count: number,
	consumes = false,
): { rows: SourcedRow[]; next: number | null } {
	// Every row at or after `floor` is among the rows: below it some partition has not read yet.
	let floor: number | null = null;
	for (const { page } of pages) {
		if (page.floorMs !== null) floor = floor === null ? page.floorMs : Math.max(floor, page.floorMs);
	}
	const candidates = pages
		.flatMap(({ topic, partition, page }) => page.rows.map((row) => ({ row: { ...row, topic }, partition })))
		.filter(({ row }) => floor === null || row.atMs >= floor)
		.sort(
			(a, b) =>
				b.row.atMs - a.row.atMs ||
				(a.row.topic < b.row.topic ? 1 : a.row.topic > b.row.topic ? -1 : 0) ||
				b.partition - a.partition ||
				(b.row.key[0] ?? 0) - (a.row.key[0] ?? 0) ||
				(b.row.key[1] ?? 0) - (a.row.key[1] ?? 0),
		)
		.map(({ row }) => row);
	let rows = candidates;
	let next: number | null = floor;
	if (candidates.length > count) {
		const last = (candidates[count - 1] as SourcedRow).atMs;
		const splits = (candidates[count] as SourcedRow).atMs === last;
		rows = candidates.slice(0, count);
		next = last;
		if (splits && consumes) {
			// The caller removes these rows: the next page may start inside this millisecond again.
			next = last + 1;
		} else if (splits) {
			const before = rows.filter((r) => r.atMs > last);
			if (before.length > 0) {
				rows = before;
				next = last + 1;
			} else {
				rows = candidates.filter((r) => r.atMs === last);
			}
		}
	}
	// Every partition read to its end and every candidate is on this page: it is the last.
	if (floor === null && rows.length === candidates.length) next = null;
	return { rows, next };
}
