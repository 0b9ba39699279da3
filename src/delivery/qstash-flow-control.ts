import { parseUnitGroupsMs } from "./qstash-durations";
import { QstashHeaderError } from "./qstash-header-error";

/**
 * QStash flow control and queues on a `/v2` message (QSTASH.md "Flow control, queues and
 * callbacks"): `Upstash-Flow-Control-Key` + `Upstash-Flow-Control-Value` (`parallelism=2, rate=10,
 * period=1m`, as the SDK joins them), and the queue a message is enqueued to. Both become the
 * message's key (key-limits.ts): a queue's key is `QUEUE_KEY_PREFIX` + its name, which no
 * flow-control key can be (those are printable ASCII).
 */

export const QUEUE_KEY_PREFIX = "\u0001queue:";
/** The key of queue `name`. */
export const queueKey = (name: string) => `${QUEUE_KEY_PREFIX}${name}`;
/** The queue name of a key, or null when the key is not a queue's. */
export const queueOfKey = (key: string) =>
	key.startsWith(QUEUE_KEY_PREFIX) ? key.slice(QUEUE_KEY_PREFIX.length) : null;

/** Most attempts in flight a key or queue may allow. */
export const MAX_KEY_PARALLELISM = 1000;
/** Most attempts a key's rate may allow per period. */
export const MAX_KEY_RATE = 100_000;
/** Longest period of a key's rate. */
export const MAX_KEY_PERIOD_MS = 7 * 86_400_000;

/** A flow-control key's limits as a message sets them. */
export interface FlowControlValue {
	key: string;
	parallelism: number | null;
	rate: { limit: number; periodMs: number } | null;
}

const KEY = /^[\x20-\x7e]{1,256}$/;

function positiveInt(header: string, name: string, text: string, max: number): number {
	if (!/^\d{1,9}$/.test(text) || Number(text) < 1 || Number(text) > max) {
		throw new QstashHeaderError(header, `${name} must be an integer from 1 to ${max}`);
	}
	return Number(text);
}

/** A period: `<n><unit>` groups (d, h, m, s) or a bare number of seconds; 1 s to 7 days. */
export function parseKeyPeriodMs(header: string, text: string): number {
	const ms = /^\d{1,9}$/.test(text) ? Number(text) * 1000 : parseUnitGroupsMs(text, ["d", "h", "m", "s"]);
	if (ms === null || ms < 1000 || ms > MAX_KEY_PERIOD_MS) {
		throw new QstashHeaderError(header, "period must be from 1s to 7d (e.g. 1s, 10m, 1h, 2d, or seconds)");
	}
	return ms;
}

/** Reads the two flow-control headers; null when neither is given. Throws QstashHeaderError (400). */
export function readFlowControl(key: string | null, value: string | null): FlowControlValue | null {
	if (key === null && value === null) return null;
	const KEY_HEADER = "Upstash-Flow-Control-Key";
	const VALUE_HEADER = "Upstash-Flow-Control-Value";
	if (key === null) throw new QstashHeaderError(KEY_HEADER, "is required with Upstash-Flow-Control-Value");
	if (!KEY.test(key)) throw new QstashHeaderError(KEY_HEADER, "must be 1–256 printable ASCII characters");
	if (value === null || value.trim() === "") {
		throw new QstashHeaderError(VALUE_HEADER, "is required: parallelism=<n>, rate=<n>, period=<duration>");
	}
	const seen = new Map<string, string>();
	for (const part of value.split(",")) {
		const match = /^\s*([a-zA-Z]+)\s*=\s*([^\s,]+)\s*$/.exec(part);
		const name = match?.[1]?.toLowerCase();
		if (!match || !name || !["parallelism", "rate", "period"].includes(name)) {
			throw new QstashHeaderError(
				VALUE_HEADER,
				`"${part.trim()}" is not parallelism=<n>, rate=<n> or period=<duration>`,
			);
		}
		if (seen.has(name)) throw new QstashHeaderError(VALUE_HEADER, `${name} is given twice`);
		seen.set(name, match[2] as string);
	}
	const parallelismText = seen.get("parallelism");
	const rateText = seen.get("rate");
	const periodText = seen.get("period");
	if (parallelismText === undefined && rateText === undefined) {
		throw new QstashHeaderError(VALUE_HEADER, "needs parallelism or rate");
	}
	// `period` alone (the SDK sends `{parallelism, period}`) has nothing to apply to: checked, then unused.
	if (periodText !== undefined) parseKeyPeriodMs(VALUE_HEADER, periodText);
	return {
		key,
		parallelism:
			parallelismText === undefined
				? null
				: positiveInt(VALUE_HEADER, "parallelism", parallelismText, MAX_KEY_PARALLELISM),
		rate:
			rateText === undefined
				? null
				: {
						limit: positiveInt(VALUE_HEADER, "rate", rateText, MAX_KEY_RATE),
						periodMs: periodText === undefined ? 1000 : parseKeyPeriodMs(VALUE_HEADER, periodText),
					},
	};
}

/** A queue name: as QStash's (letters, digits, `-`, `_`, `.`), 1–128 characters. */
export function readQueueName(name: string, where: string): string {
	if (!/^[A-Za-z0-9._-]{1,128}$/.test(name)) {
		throw new QstashHeaderError(where, "a queue name is 1–128 letters, digits, '-', '_' or '.'");
	}
	return name;
}
