import type { AppEnv } from "../config";

/** The one object that holds every cron schedule (src/schedule/object.ts). */
export function scheduleStub(env: AppEnv) {
	return env.SCHEDULES.getByName("~schedules");
}
