import type { AppEnv } from "../../config";
import { qstashMessageId } from "../../delivery/qstash-ids";
import { AppError } from "../../errors";
import type { ScheduleRow } from "../../schedule/store";
import { topicClient } from "../../topic/client";
import type { DeliveryState } from "../../topic/types";

/** A firing's delivery as QStash's `lastScheduleStates` names it (QSTASH.md "Schedules"). */
export type ScheduleState = "IN_PROGRESS" | "SUCCESS" | "FAIL";

/** `{messageId: state}` of a schedule's last firing. */
export type ScheduleStates = Record<string, ScheduleState>;

const STATES: Record<DeliveryState, ScheduleState> = {
	scheduled: "IN_PROGRESS",
	in_flight: "IN_PROGRESS",
	delivered: "SUCCESS",
	dead: "FAIL",
	cancelled: "FAIL",
};

/** The firing's message or its topic no longer exists (retention, a deleted group): nothing to show. */
const GONE = ["topic_not_found", "message_not_found"];

/**
 * A reader of last-firing states, read at request time from the firing's message (the schedule
 * keeps only its id). Build one per request: it reads each URL group's endpoints once.
 */
export function lastStatesReader(env: AppEnv): (schedule: ScheduleRow) => Promise<ScheduleStates | null> {
	const endpoints = new Map<string, Promise<Set<string>>>();
	// A group's message has a delivery per subscription; only its webhook endpoints have QStash ids.
	const webhooksOf = (topic: string): Promise<Set<string>> => {
		let names = endpoints.get(topic);
		if (!names) {
			names = topicClient(env, topic)
				.admin.listSubscriptions()
				.then((subs) => new Set(subs.filter((s) => s.type === "webhook").map((s) => s.name)));
			endpoints.set(topic, names);
		}
		return names;
	};

	/** The states of the last firing, or null when it never fired or its message is gone. */
	return async function lastStates(schedule: ScheduleRow): Promise<ScheduleStates | null> {
		if (schedule.lastMessageId === null) return null;
		try {
			const m = await topicClient(env, schedule.topic).messages.get(schedule.lastMessageId);
			const o = m.options;
			if (!o) return null;
			// A URL destination: the system topic's one delivery, whose QStash id is the message id itself.
			const webhooks = o.url === null ? await webhooksOf(schedule.topic) : null;
			const states: ScheduleStates = {};
			for (const d of m.deliveries) {
				if (webhooks && !webhooks.has(d.subscription)) continue;
				states[qstashMessageId(o.topicName, m.id, d.subscription)] = STATES[d.state];
			}
			return Object.keys(states).length > 0 ? states : null;
		} catch (error) {
			if (error instanceof AppError && GONE.includes(error.code)) return null;
			throw error;
		}
	};
}
