import { textFromBase64Url, textToBase64Url } from "../base64";
import { InvalidRequest } from "../errors";

/**
 * Opaque pagination cursors: base64url JSON naming the list they belong to (`kind`, and the
 * topic/subscription `scope`) and the position after which the next page starts. A cursor of
 * another list, another topic, or one that was tampered into a bad shape is a 400.
 */

/** Encodes a position in list `kind` of `scope`. */
export function encodeCursor(kind: string, scope: string, at: (number | string)[]): string {
	return textToBase64Url(JSON.stringify({ k: kind, s: scope, a: at }));
}

/** Decodes a cursor for list `kind` of `scope` with `arity` position fields, or throws a 400. */
export function decodeCursor(cursor: string, kind: string, scope: string, arity: number): (number | string)[] {
	const invalid = (message: string) => new InvalidRequest(`invalid cursor: ${message}`, [{ path: "cursor", message }]);
	let value: unknown;
	try {
		value = JSON.parse(textFromBase64Url(cursor));
	} catch {
		throw invalid("not a cursor this API returned");
	}
	const v = value as { k?: unknown; s?: unknown; a?: unknown };
	if (typeof v !== "object" || v === null || !Array.isArray(v.a) || v.a.length !== arity || v.k !== kind) {
		throw invalid("not a cursor of this list");
	}
	if (v.s !== scope) throw invalid("this cursor belongs to another topic or subscription");
	for (const part of v.a) {
		const okNumber = typeof part === "number" && Number.isSafeInteger(part);
		const okString = typeof part === "string" && part.length <= 256;
		if (!okNumber && !okString) throw invalid("not a cursor this API returned");
	}
	return v.a as (number | string)[];
}
