import { AppError } from "../errors";

/** 400: a `/v2` request header (`Upstash-Delay`, `Upstash-Retry-Delay`, …) is malformed or out of range. */
export class QstashHeaderError extends AppError {
	constructor(
		/** The header's canonical name, e.g. `Upstash-Retry-Delay`. */
		readonly header: string,
		detail: string,
	) {
		super(400, "invalid_header", `${header}: ${detail}`);
	}
}
