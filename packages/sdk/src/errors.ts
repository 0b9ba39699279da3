/** One field a request got wrong, as the API names it (`path` like `"delay"` or `"[2].delay"`). */
export interface SundialIssue {
	path: string;
	message: string;
}

/** Codes the SDK itself gives errors that never reached an API answer (their `status` is 0). */
export type LocalErrorCode =
	| "network_error"
	| "timeout"
	| "aborted"
	| "invalid_response"
	| "invalid_request"
	| "invalid_signature";

/**
 * The one error the SDK throws. `status` is the HTTP status the API answered with, or 0 when there was
 * no answer (network failure, timeout, abort) or the SDK refused the input itself; `code` is the API's
 * stable error code (`"topic_not_found"`, `"invalid_request"`, …) or one of {@link LocalErrorCode};
 * `issues` names each bad field (empty when there are none). Branch on `code`, never on `message`.
 */
export class SundialError extends Error {
	override readonly name = "SundialError";
	/** The HTTP status of the API's answer; 0 when there was none. */
	readonly status: number;
	/** The API's error code, or a {@link LocalErrorCode}. */
	readonly code: string;
	/** The bad fields of a 400 (empty otherwise). */
	readonly issues: readonly SundialIssue[];
	/** How long the API asked to wait (its `Retry-After`), in ms, when it said. */
	readonly retryAfterMs: number | undefined;

	constructor(
		status: number,
		code: string,
		message: string,
		options: { issues?: readonly SundialIssue[]; retryAfterMs?: number; cause?: unknown } = {},
	) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.status = status;
		this.code = code;
		this.issues = options.issues ?? [];
		this.retryAfterMs = options.retryAfterMs;
	}
}

/** Whether `error` is a {@link SundialError}, optionally with one of `codes`. */
export function isSundialError(error: unknown, ...codes: string[]): error is SundialError {
	return error instanceof SundialError && (codes.length === 0 || codes.includes(error.code));
}
