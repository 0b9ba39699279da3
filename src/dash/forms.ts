/**
 * Reading the dashboard's POST forms: `application/x-www-form-urlencoded` only, within a size limit,
 * each field checked by a zod schema. Anything wrong is an AppError (400, 413 or 415) naming the field,
 * which the dashboard shows as a readable error page, never a 500.
 */
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getConfig } from "../config";
import { AppError, InvalidRequest, TooLarge } from "../errors";
import { readAtMost } from "../streams";
import { validate } from "../validation";
import type { DashEnv } from "./types";

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The fields of a posted form (the first value of each name; empty fields left out). */
export async function readForm(c: Context<DashEnv>): Promise<Record<string, string>> {
	const type = c.req.header("content-type") ?? "";
	if (!FORM_TYPE.test(type.trim())) {
		throw new AppError(415, "unsupported_media_type", "send the form as application/x-www-form-urlencoded");
	}
	// A publish form carries a message body of up to the body limit, percent-encoded (up to 3× as long).
	const limit = getConfig(c.env).maxBodyBytes * 3 + 64 * 1024;
	const bytes = c.req.raw.body ? await readAtMost(c.req.raw.body, limit) : new Uint8Array();
	if (bytes === null) throw new TooLarge("request_too_large", `the form is over ${limit} bytes`);
	let text: string;
	try {
		text = utf8.decode(bytes);
	} catch {
		throw new InvalidRequest("the form is not valid UTF-8");
	}
	const fields: Record<string, string> = {};
	for (const [name, value] of new URLSearchParams(text)) {
		if (!(name in fields) && value !== "") fields[name] = value;
	}
	return fields;
}

/** Checks form fields against a schema: the parsed values, or a 400 naming each bad field. */
export function formFields<S extends z.ZodType>(schema: S, fields: Record<string, string>): z.output<S> {
	return validate(schema, fields, "form field");
}
