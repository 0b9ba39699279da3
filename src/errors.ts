/** One item of a validation failure: which field, and what is wrong with it. */
export interface ErrorIssue {
	path: string;
	message: string;
}

/** The JSON shape of every error Sundial returns (DESIGN.md "HTTP API"). */
export interface ErrorBody {
	code: string;
	message: string;
	issues?: ErrorIssue[];
}

/** Status codes Sundial answers errors with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 412 | 413 | 415 | 422 | 426 | 429 | 500 | 501 | 503;

/** The one application error: carries the HTTP status, a stable code and optional field issues. */
export class AppError extends Error {
	override readonly name = "AppError";
	constructor(
		readonly status: ErrorStatus,
		readonly code: string,
		message: string,
		readonly issues?: ErrorIssue[],
		options?: { cause?: unknown },
	) {
		super(message, options);
	}

	/** The JSON body for this error. */
	toBody(): ErrorBody {
		return this.issues
			? { code: this.code, message: this.message, issues: this.issues }
			: { code: this.code, message: this.message };
	}

	/** Rebuilds an error returned across RPC (class identity does not survive structured clone). */
	static from(body: ErrorBody & { status: ErrorStatus }): AppError {
		return new AppError(body.status, body.code, body.message, body.issues);
	}
}

/** 400: the request is malformed; `issues` names each bad field. */
export class InvalidRequest extends AppError {
	constructor(message: string, issues?: ErrorIssue[]) {
		super(400, "invalid_request", message, issues);
	}
}

/** 404: the named thing does not exist. */
export class NotFound extends AppError {
	constructor(code: string, message: string) {
		super(404, code, message);
	}
}

/** 409: the request conflicts with the current state. */
export class Conflict extends AppError {
	constructor(code: string, message: string) {
		super(409, code, message);
	}
}

/** 413: the request or one of its parts is over a documented limit. */
export class TooLarge extends AppError {
	constructor(code: string, message: string) {
		super(413, code, message);
	}
}

/** A result passed back over Durable Object RPC: errors travel as data, not as thrown exceptions. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody & { status: ErrorStatus } };

/** Wraps a value as a successful Result. */
export function ok<T>(value: T): Result<T> {
	return { ok: true, value };
}

/** Wraps an AppError as a failed Result. */
export function fail<T>(error: AppError): Result<T> {
	return { ok: false, error: { status: error.status, ...error.toBody() } };
}

/** Returns the value of a Result, or throws its error as an AppError. */
export function unwrap<T>(result: Result<T>): T {
	if (result.ok) return result.value;
	throw AppError.from(result.error);
}
