/**
 * Reading an error Sundial's service binding (PublishEntrypoint) threw. RPC keeps an error's message
 * but may drop its own properties (Cloudflare's RPC docs; it does across two `wrangler dev`
 * processes), so Sundial writes code and status into the message too:
 * `<code> (<status>): <message>`, then for bad fields a line `issues: <JSON array>`.
 */

/** One bad field of a refused call. */
export interface PublishErrorIssue {
	path: string;
	message: string;
}

/** What a thrown publish error says: the API's error code, HTTP status, message and bad fields. */
export interface PublishErrorFields {
	code: string;
	status: number;
	/** The message alone, without the code and status in front. */
	message: string;
	issues?: PublishErrorIssue[];
}

/** The head of Sundial's form; what follows it is the message, then maybe the issues line. */
const HEAD = /^([a-z][a-z0-9_]*) \((\d{3})\): /;
const ISSUES_LINE = "\nissues: ";

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
	if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
		return (error as { message: string }).message;
	}
	return String(error);
}

function issuesOf(value: unknown): PublishErrorIssue[] | undefined {
	if (!Array.isArray(value)) return undefined;
	const ok = value.every(
		(i) => typeof i === "object" && i !== null && typeof i.path === "string" && typeof i.message === "string",
	);
	return ok ? value.map((i: PublishErrorIssue) => ({ path: i.path, message: i.message })) : undefined;
}

function parsedIssues(json: string | undefined): PublishErrorIssue[] | undefined {
	if (json === undefined) return undefined;
	try {
		return issuesOf(JSON.parse(json));
	} catch {
		return undefined;
	}
}

/**
 * The code, status, message and issues of an error `publish` / `publishBatch` threw, read from its
 * message (and from own properties where they survived); null for any other error (the binding
 * failed, Sundial unreachable), which is worth retrying.
 */
export function readPublishError(error: unknown): PublishErrorFields | null {
	const message = messageOf(error);
	const own = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {};
	const head = HEAD.exec(message);
	const code = head?.[1] ?? (typeof own.code === "string" ? own.code : null);
	const status = head?.[2] !== undefined ? Number(head[2]) : typeof own.status === "number" ? own.status : null;
	if (code === null || status === null) return null;
	let text = head ? message.slice(head[0].length) : message;
	// The issues line is the last one; a message that only looks like it stays the message.
	const at = text.lastIndexOf(ISSUES_LINE);
	const written = at >= 0 ? parsedIssues(text.slice(at + ISSUES_LINE.length)) : undefined;
	if (written) text = text.slice(0, at);
	const issues = issuesOf(own.issues) ?? written;
	const out: PublishErrorFields = { code, status, message: text };
	if (issues) out.issues = issues;
	return out;
}
