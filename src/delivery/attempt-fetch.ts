import { readAtMost } from "../streams";

/** Response bytes read so the connection can be reused; past this the body is cancelled. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * What one outgoing attempt produced: the answer's status, headers and body (null past
 * DRAIN_LIMIT_BYTES), or why there was none.
 */
export type FetchOutcome =
	| { kind: "response"; status: number; headers: Headers; body: Uint8Array | null }
	| { kind: "error"; error: string };

/**
 * Sends one delivery attempt and never throws. The timeout starts here, when the caller has a
 * connection slot, covers reading the (bounded) response body, and its timer is cleared as soon
 * as the attempt ends (`AbortSignal.timeout()` would keep one timer alive per attempt for the
 * whole timeout, and workerd allows an object 10,000: at 30 s timeouts, pushes above ~330/s then
 * failed with QuotaExceededError). Redirects are not followed. The body is read, not cancelled:
 * cancelling an unread body made workerd open a new connection for every attempt.
 */
export async function fetchAttempt(url: string, init: RequestInit, timeoutMs: number): Promise<FetchOutcome> {
	const abort = new AbortController();
	let timedOut = false;
	const timer = setTimeout(() => {
		timedOut = true;
		abort.abort();
	}, timeoutMs);
	try {
		const response = await fetch(url, { ...init, redirect: "manual", signal: abort.signal });
		const body = response.body
			? await readAtMost(response.body, DRAIN_LIMIT_BYTES).catch(() => null)
			: new Uint8Array(0);
		return { kind: "response", status: response.status, headers: response.headers, body };
	} catch (error) {
		if (timedOut) return { kind: "error", error: `no response within ${timeoutMs} ms` };
		return { kind: "error", error: `request failed: ${error instanceof Error ? error.message : String(error)}` };
	} finally {
		clearTimeout(timer);
	}
}
