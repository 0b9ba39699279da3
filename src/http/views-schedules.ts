import { z } from "@hono/zod-openapi";
import { decodeBody } from "../media";
import { nextFiringMs } from "../schedule/cron";
import type { ScheduleRow } from "../schedule/store";
import { formatInstant } from "../time";

const Time = z.string().openapi({ example: "2026-12-01T09:00:00.000Z" });

export const ScheduleSchema = z
	.object({
		name: z.string(),
		cron: z.string(),
		timezone: z.string(),
		paused: z.boolean(),
		next_at: Time.nullable(),
		last_at: Time.nullable(),
		last_message_id: z.string().nullable(),
		last_error: z.string().nullable(),
		body: z.any(),
		content_type: z.string(),
		headers: z.record(z.string(), z.string()),
		key: z.string().nullable(),
		created_at: Time,
		updated_at: Time,
	})
	.openapi("Schedule");

/** A schedule as the API shows it; `next_at` is the next match after now, also while paused. */
export function scheduleJson(s: ScheduleRow) {
	const next = s.paused ? nextFiringMs({ cron: s.fields, timezone: s.timezone }, Date.now()) : s.nextAtMs;
	return {
		name: s.name,
		cron: s.cron,
		timezone: s.timezone,
		paused: s.paused,
		next_at: next === null ? null : formatInstant(next),
		last_at: s.lastAtMs === null ? null : formatInstant(s.lastAtMs),
		last_message_id: s.lastMessageId,
		last_error: s.lastError,
		body: decodeBody(s.message.body, s.message.contentType),
		content_type: s.message.contentType,
		headers: s.message.headers,
		key: s.message.key ?? null,
		created_at: formatInstant(s.createdAtMs),
		updated_at: formatInstant(s.updatedAtMs),
	};
}
