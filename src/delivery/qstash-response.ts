import { toBase64 } from "../base64";
import type { FetchOutcome } from "./attempt-fetch";

/** Bytes of a failed answer's body kept for the DLQ (QSTASH.md: "from the last attempt"). */
export const RESPONSE_BODY_KEEP_BYTES = 10 * 1024;
/** Headers of a failed answer kept for the DLQ. */
const RESPONSE_HEADERS_KEPT = 64;

/** A failed answer as `/v2` shows it in a DLQ entry. */
export interface StoredResponse {
	header: Record<string, string[]>;
	body?: string;
	bodyBase64?: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The JSON kept with a `/v2` delivery after a failed attempt: the answer's headers and the first
 * RESPONSE_BODY_KEEP_BYTES of its body (UTF-8 as text, else base64); null when nothing answered.
 */
export function storeResponse(outcome: FetchOutcome): string | null {
	if (outcome.kind !== "response") return null;
	const header: Record<string, string[]> = {};
	let n = 0;
	for (const [name, value] of outcome.headers) {
		if (n++ >= RESPONSE_HEADERS_KEPT) break;
		const values = header[name] ?? [];
		values.push(value);
		header[name] = values;
	}
	const bytes = (outcome.body ?? new Uint8Array(0)).subarray(0, RESPONSE_BODY_KEEP_BYTES);
	const stored: StoredResponse = { header };
	if (bytes.length > 0) {
		try {
			stored.body = utf8.decode(bytes);
		} catch {
			stored.bodyBase64 = toBase64(bytes);
		}
	}
	return JSON.stringify(stored);
}

/** The kept answer, or null (none kept, or unreadable). */
export function readStoredResponse(text: string | null): StoredResponse | null {
	if (!text) return null;
	try {
		return JSON.parse(text) as StoredResponse;
	} catch {
		return null;
	}
}
