/**
 * Checks a message at `publish()` time, inside the caller's transaction, so that a message the
 * outbox could never send throws there and rolls the transaction back. Only what the outbox needs
 * is checked here (names, `delay`, size); everything else is Sundial's to judge when the message
 * is sent, and a message it refuses goes to the dead table.
 */

import type { OutboxMessage } from "./types";

/** Sundial's rule for topic names and message ids. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Largest stored message (its JSON, UTF-8): under a Durable Object's 2 MB row limit, above Sundial's 1 MiB body limit. */
export const MAX_MESSAGE_BYTES = 1_900_000;

/** What `publish()` throws for a message it cannot store; `code` and `path` say what is wrong. */
export class OutboxError extends Error {
	override readonly name = "OutboxError";
	constructor(
		readonly code: "invalid_topic" | "invalid_message" | "message_too_large",
		readonly path: string,
		message: string,
	) {
		super(message);
	}
}

/** A message ready to store: its id, and the JSON Sundial will be sent. */
export interface StoredMessage {
	id: string;
	json: string;
}

/** Longest `delay` turned into `deliver_at` (Sundial's own limit, 365 days by default, is checked there). */
const MAX_DELAY_MS = 100 * 365 * 86_400_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const BARE_SECONDS = /^(?:\d+(?:\.\d+)?|\.\d+)$/;
const DURATION = /^(?:(?:\d+(?:\.\d+)?|\.\d+)(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/g;

/** Sundial's durations: a number of seconds, or "250ms", "30s", "5m", "2h", "7d", "1h30m" (each unit once). Null if invalid. */
export function parseDurationMs(input: unknown): number | null {
	if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : null;
	if (typeof input !== "string") return null;
	const text = input.trim();
	if (BARE_SECONDS.test(text)) return Math.round(Number(text) * 1000);
	if (!DURATION.test(text)) return null;
	let totalMs = 0;
	const units = new Set<string>();
	for (const [, amount, unit] of text.matchAll(DURATION_PART)) {
		if (unit === undefined || units.has(unit)) return null;
		units.add(unit);
		totalMs += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
	}
	const ms = Math.round(totalMs);
	return Number.isSafeInteger(ms) ? ms : null;
}

/** A fresh message id in Sundial's shape: time-ordered, 80 random bits. */
export function newMessageId(nowMs: number): string {
	let suffix = "";
	for (const byte of crypto.getRandomValues(new Uint8Array(10))) suffix += byte.toString(16).padStart(2, "0");
	return `msg_${nowMs.toString(36)}${suffix}`;
}

const encoder = new TextEncoder();

/** Checks `topic` and `message` and returns what to store; throws an OutboxError for what cannot be sent. */
export function prepareMessage(topic: unknown, message: unknown, nowMs: number): StoredMessage {
	if (typeof topic !== "string" || !NAME_PATTERN.test(topic)) {
		throw new OutboxError("invalid_topic", "topic", `invalid topic name ${JSON.stringify(topic)}`);
	}
	if (typeof message !== "object" || message === null || Array.isArray(message)) {
		throw new OutboxError("invalid_message", "message", "a message is an object like { body, delay, id }");
	}
	const { delay, ...rest } = message as OutboxMessage;
	const fields: Record<string, unknown> = { ...rest };
	if (fields.body === undefined) throw new OutboxError("invalid_message", "body", "body is required");
	if (typeof fields.body === "function" || typeof fields.body === "symbol") {
		throw new OutboxError("invalid_message", "body", "body must be a JSON value");
	}
	if (fields.id === undefined) fields.id = newMessageId(nowMs);
	else if (typeof fields.id !== "string" || !NAME_PATTERN.test(fields.id)) {
		throw new OutboxError("invalid_message", "id", `invalid message id ${JSON.stringify(fields.id)}`);
	}
	if (delay !== undefined) {
		if (fields.deliver_at !== undefined) {
			throw new OutboxError("invalid_message", "delay", "give delay or deliver_at, not both");
		}
		const delayMs = parseDurationMs(delay);
		if (delayMs === null || delayMs > MAX_DELAY_MS) {
			throw new OutboxError("invalid_message", "delay", `invalid delay ${JSON.stringify(delay)}`);
		}
		fields.deliver_at = new Date(nowMs + delayMs).toISOString();
	}
	let json: string;
	try {
		json = JSON.stringify(fields);
	} catch (error) {
		throw new OutboxError("invalid_message", "body", `not JSON-serializable: ${String(error)}`);
	}
	const bytes = json.length * 3 <= MAX_MESSAGE_BYTES ? 0 : encoder.encode(json).byteLength;
	if (bytes > MAX_MESSAGE_BYTES) {
		throw new OutboxError("message_too_large", "body", `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
	}
	return { id: fields.id as string, json };
}
