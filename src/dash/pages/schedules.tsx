import type { z } from "@hono/zod-openapi";
import type { ScheduleSchema } from "../../http/views-schedules";
import { ActionForm, topicHref } from "./layout";

/** A schedule as `GET /v1/topics/{topic}/schedules` answers it. */
export type Schedule = z.infer<typeof ScheduleSchema>;

/** The topic's cron schedules, each with pause or resume (publish scope). */
export function SchedulesSection(props: { topic: string; schedules: Schedule[]; csrf: string; canPublish: boolean }) {
	return (
		<section class="card" id="schedules">
			<h2>Schedules</h2>
			{props.schedules.length === 0 ? (
				<p class="note">No schedules.</p>
			) : (
				<table>
					<thead>
						<tr>
							<th>name</th>
							<th>cron</th>
							<th>time zone</th>
							<th>state</th>
							<th>next</th>
							<th>last</th>
							<th>last error</th>
							{props.canPublish ? <th /> : null}
						</tr>
					</thead>
					<tbody>
						{props.schedules.map((s) => (
							<tr>
								<td>{s.name}</td>
								<td>
									<code>{s.cron}</code>
								</td>
								<td>{s.timezone}</td>
								<td>{s.paused ? "paused" : "active"}</td>
								<td>{s.next_at ?? "–"}</td>
								<td>{s.last_at ?? "–"}</td>
								<td class="error-text">{s.last_error ?? "–"}</td>
								{props.canPublish ? (
									<td>
										<ActionForm
											action={topicHref(props.topic, "schedules", s.name, s.paused ? "resume" : "pause")}
											csrf={props.csrf}
											label={s.paused ? "Resume" : "Pause"}
										/>
									</td>
								) : null}
							</tr>
						))}
					</tbody>
				</table>
			)}
		</section>
	);
}
