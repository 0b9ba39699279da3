import { DurableObject } from "cloudflare:workers";
import { type AppEnv, getConfig } from "../config";
import { AppError, Conflict, fail, InvalidRequest, NotFound, ok, type Result } from "../errors";
import { Alarm } from "../topic/alarm";
import { topicClient } from "../topic/client";
import { dueFiring, firingId, nextFiringMs, parseCron } from "./cron";
import { type ScheduledMessage, type ScheduleRow, ScheduleStore } from "./store";

/** What creating or replacing a schedule takes (validated by the Worker, but for the cron). */
export interface ScheduleInput {
	cron: string;
	/** Absent: UTC, or the cron's `CRON_TZ=` prefix. */
	timezone: string | undefined;
	message: ScheduledMessage;
	paused: boolean;
}

/** Schedules fired per alarm round (each is one publish). */
const FIRE_BATCH = 50;
/** Rounds one alarm run makes before it re-arms (bounded work per invocation). */
const FIRE_ROUNDS = 20;
/** When a firing's publish failed for a passing reason (a partition did not answer), it is tried again this soon. */
const RETRY_MS = 5_000;

const scheduleNotFound = (name: string) => new NotFound("schedule_not_found", `schedule "${name}" not found`);

/**
 * Every cron schedule of every topic, in one object with one alarm at the next firing: idle
 * schedules cost nothing. A firing publishes one message to its topic through the topic client,
 * with an id derived from (schedule, firing minute): a repeated alarm publishes a duplicate,
 * never a second message; missed firings (the object was down) fire once, late.
 */
export class ScheduleObject extends DurableObject<AppEnv> {
	private readonly store: ScheduleStore;
	private readonly alarmClock: Alarm;

	constructor(ctx: DurableObjectState, env: AppEnv) {
		super(ctx, env);
		this.store = new ScheduleStore(ctx.storage.sql);
		this.alarmClock = new Alarm(ctx.storage);
	}

	private async rearm(): Promise<void> {
		await this.alarmClock.setTo(this.store.nextAtMs());
	}

	/** Creates or replaces a schedule; it fires from the next match after now on. */
	async put(
		topic: string,
		name: string,
		input: ScheduleInput,
	): Promise<Result<{ created: boolean; schedule: ScheduleRow }>> {
		const parsed = parseCron(input.cron, input.timezone);
		if (!parsed.ok) {
			const { field, message } = parsed.error;
			return fail(new InvalidRequest(`invalid request body: ${field}: ${message}`, [{ path: field, message }]));
		}
		const existing = this.store.get(topic, name);
		const max = getConfig(this.env).maxSchedules;
		if (!existing && this.store.count() >= max) {
			return fail(new Conflict("too_many_schedules", `at most ${max} schedules (SUNDIAL_MAX_SCHEDULES)`));
		}
		const nowMs = Date.now();
		const schedule: ScheduleRow = {
			topic,
			name,
			cron: input.cron,
			fields: parsed.schedule.cron,
			timezone: parsed.schedule.timezone,
			message: input.message,
			paused: input.paused,
			nextAtMs: nextFiringMs(parsed.schedule, nowMs),
			sinceMs: nowMs,
			lastAtMs: existing?.lastAtMs ?? null,
			lastMessageId: existing?.lastMessageId ?? null,
			lastError: existing?.lastError ?? null,
			createdAtMs: existing?.createdAtMs ?? nowMs,
			updatedAtMs: nowMs,
		};
		this.store.put(schedule);
		await this.rearm();
		return ok({ created: existing === null, schedule });
	}

	async get(topic: string, name: string): Promise<Result<ScheduleRow>> {
		const schedule = this.store.get(topic, name);
		return schedule ? ok(schedule) : fail(scheduleNotFound(name));
	}

	async list(topic: string): Promise<ScheduleRow[]> {
		return this.store.list(topic, getConfig(this.env).maxSchedules);
	}

	/** Every `/v2` schedule (made through `/v2/schedules`), by id. */
	async listQstash(): Promise<ScheduleRow[]> {
		return this.store.listQstash(getConfig(this.env).maxSchedules);
	}

	/** A `/v2` schedule by its id, wherever it publishes. */
	async findQstash(name: string): Promise<ScheduleRow | null> {
		return this.store.findQstash(name);
	}

	/** Pauses (firings are skipped, not queued up) or resumes (from the next match after now). */
	async setPaused(topic: string, name: string, paused: boolean): Promise<Result<ScheduleRow>> {
		const current = this.store.get(topic, name);
		if (!current) return fail(scheduleNotFound(name));
		if (current.paused === paused) return ok(current);
		const nowMs = Date.now();
		const next = nextFiringMs({ cron: current.fields, timezone: current.timezone }, nowMs);
		const schedule = { ...current, paused, sinceMs: nowMs, nextAtMs: next, updatedAtMs: nowMs };
		this.store.put(schedule);
		await this.rearm();
		return ok(schedule);
	}

	/** Deletes a schedule: nothing fires after this returns. */
	async remove(topic: string, name: string): Promise<Result<{ deleted: true }>> {
		if (!this.store.delete(topic, name)) return fail(scheduleNotFound(name));
		await this.rearm();
		return ok({ deleted: true as const });
	}

	/** Deletes every schedule of a deleted topic. */
	async removeTopic(topic: string): Promise<number> {
		const n = this.store.deleteTopic(topic);
		if (n > 0) await this.rearm();
		return n;
	}

	override async alarm(): Promise<void> {
		this.alarmClock.fired();
		try {
			for (let round = 0; round < FIRE_ROUNDS; round++) {
				const due = this.store.due(Date.now(), FIRE_BATCH);
				for (const schedule of due) this.store.put(await this.fire(schedule));
				if (due.length < FIRE_BATCH) break;
			}
		} catch (error) {
			console.error("sundial: schedule alarm failed; re-arming", error);
		}
		await this.rearm();
	}

	/** Publishes a schedule's due firing (if any) and returns the row with its next firing. */
	private async fire(schedule: ScheduleRow): Promise<ScheduleRow> {
		const nowMs = Date.now();
		const cron = { cron: schedule.fields, timezone: schedule.timezone };
		const { firingMs, nextMs } = dueFiring(cron, schedule.sinceMs, nowMs);
		const next = { ...schedule, nextAtMs: nextMs };
		if (firingMs === null) return next;
		const id = await firingId(schedule.name, firingMs);
		const error = await this.publish(schedule, id, firingMs);
		if (error && error.status >= 500) {
			// Tried again soon with the same id: published at most once.
			return { ...schedule, nextAtMs: nowMs + RETRY_MS, lastError: error.message };
		}
		// Published (or a duplicate of an earlier try), or refused for good (no topic, no subscriptions).
		return error
			? { ...next, sinceMs: firingMs, lastError: `${error.code}: ${error.message}` }
			: { ...next, sinceMs: firingMs, lastAtMs: firingMs, lastMessageId: id, lastError: null };
	}

	private async publish(schedule: ScheduleRow, id: string, firingMs: number): Promise<AppError | null> {
		const { body, contentType, headers, options, delayMs, key, keyLimits } = schedule.message;
		try {
			const [result] = await topicClient(this.env, schedule.topic).messages.publish([
				{
					id,
					body,
					contentType,
					headers,
					requestId: null,
					deliverAtMs: firingMs + (delayMs ?? 0),
					options,
					key,
					keyLimits,
				},
			]);
			if (result && "error" in result) {
				const status = result.error.code === "partition_unavailable" ? 503 : 409;
				return new AppError(status, result.error.code, result.error.message);
			}
			return null;
		} catch (error) {
			if (error instanceof AppError) return error;
			return new AppError(503, "publish_failed", String(error));
		}
	}
}
