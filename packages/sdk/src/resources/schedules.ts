import type { Transport } from "../transport.js";
import type { Schedule, ScheduleConfig } from "../types.js";

/** Cron schedules of a topic: each firing publishes one message. */
export class Schedules {
	constructor(private readonly transport: Transport) {}

	/** Creates or replaces the schedule. */
	upsert(topic: string, name: string, config: ScheduleConfig): Promise<Schedule> {
		return this.transport.call("put", "/v1/topics/{topic}/schedules/{name}", {
			params: { topic, name },
			body: config,
			idempotent: true,
		});
	}

	/** One schedule with `next_at`, `last_at` and `last_message_id`. */
	get(topic: string, name: string): Promise<Schedule> {
		return this.transport.call("get", "/v1/topics/{topic}/schedules/{name}", {
			params: { topic, name },
			idempotent: true,
		});
	}

	/** Every schedule of the topic. */
	async list(topic: string): Promise<Schedule[]> {
		const res = await this.transport.call("get", "/v1/topics/{topic}/schedules", {
			params: { topic },
			idempotent: true,
		});
		return res.schedules;
	}

	/** Deletes the schedule; nothing fires after this. */
	delete(topic: string, name: string): Promise<{ name: string; deleted: true }> {
		return this.transport.call("delete", "/v1/topics/{topic}/schedules/{name}", {
			params: { topic, name },
			idempotent: true,
		});
	}

	/** Pauses the schedule: its firings are skipped until resumed. */
	pause(topic: string, name: string): Promise<Schedule> {
		return this.transport.call("post", "/v1/topics/{topic}/schedules/{name}/pause", {
			params: { topic, name },
			idempotent: true,
		});
	}

	/** Resumes a paused schedule. */
	resume(topic: string, name: string): Promise<Schedule> {
		return this.transport.call("post", "/v1/topics/{topic}/schedules/{name}/resume", {
			params: { topic, name },
			idempotent: true,
		});
	}
}
