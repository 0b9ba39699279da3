import type { z } from "@hono/zod-openapi";
import type { DeadSchema } from "../../http/views";
import { ActionForm, Layout, messageHref, topicHref, type Viewer } from "./layout";

/** A dead delivery as `GET …/subscriptions/{name}/dead` answers it. */
export type Dead = z.infer<typeof DeadSchema>;

/** One subscription's dead letters: a row per message with its redrive, and redrive-all / purge (admin only). */
export function DeadTable(props: {
	topic: string;
	subscription: string;
	dead: Dead[];
	csrf: string;
	canAdmin: boolean;
}) {
	const { topic, subscription, csrf, canAdmin } = props;
	const action = (what: string) => topicHref(topic, "subscriptions", subscription, what);
	return (
		<div class="dead" data-subscription={subscription}>
			<h3>
				{subscription}
				{canAdmin && props.dead.length > 0 ? (
					<span class="actions">
						<ActionForm action={action("redrive")} csrf={csrf} label="Redrive all" />
						<ActionForm action={action("purge")} csrf={csrf} label="Purge" danger />
					</span>
				) : null}
			</h3>
			{props.dead.length === 0 ? (
				<p class="note">No dead letters.</p>
			) : (
				<table>
					<thead>
						<tr>
							<th>message</th>
							<th class="num">attempts</th>
							<th class="num">last status</th>
							<th>last error</th>
							<th>dead at</th>
							{canAdmin ? <th /> : null}
						</tr>
					</thead>
					<tbody>
						{props.dead.map((d) => (
							<tr>
								<td>
									<a href={messageHref(topic, d.message_id)}>{d.message_id}</a>
								</td>
								<td class="num">{d.attempts}</td>
								<td class="num">{d.last_status ?? "–"}</td>
								<td class="error-text">{d.last_error ?? "–"}</td>
								<td>{d.dead_at}</td>
								{canAdmin ? (
									<td>
										<ActionForm action={action("redrive")} csrf={csrf} label="Redrive" fields={{ id: d.message_id }} />
									</td>
								) : null}
							</tr>
						))}
					</tbody>
				</table>
			)}
		</div>
	);
}

/** A section of dead letters per subscription (the first page of each), with a link to each full list. */
export function DeadSection(props: {
	topic: string;
	bySubscription: { subscription: string; dead: Dead[]; more: boolean }[];
	csrf: string;
	canAdmin: boolean;
}) {
	return (
		<section class="card" id="dead">
			<h2>Dead letters</h2>
			{props.bySubscription.length === 0 ? <p class="note">No subscriptions.</p> : null}
			{props.bySubscription.map((s) => (
				<>
					<DeadTable
						topic={props.topic}
						subscription={s.subscription}
						dead={s.dead}
						csrf={props.csrf}
						canAdmin={props.canAdmin}
					/>
					{s.more ? (
						<p>
							<a href={topicHref(props.topic, "subscriptions", s.subscription, "dead")}>
								All dead letters of {s.subscription}
							</a>
						</p>
					) : null}
				</>
			))}
		</section>
	);
}

/** `/dash/topics/{topic}/subscriptions/{name}/dead`: one page of a subscription's dead letters. */
export function DeadPage(props: {
	viewer: Viewer;
	topic: string;
	subscription: string;
	dead: Dead[];
	next: string | null;
	canAdmin: boolean;
}) {
	const here = topicHref(props.topic, "subscriptions", props.subscription, "dead");
	return (
		<Layout title={`Dead letters of ${props.subscription}`} viewer={props.viewer}>
			<p class="crumbs">
				<a href={topicHref(props.topic)}>{props.topic}</a> / {props.subscription} / dead letters
			</p>
			<DeadTable
				topic={props.topic}
				subscription={props.subscription}
				dead={props.dead}
				csrf={props.viewer.csrf}
				canAdmin={props.canAdmin}
			/>
			{props.next ? (
				<p>
					<a href={`${here}?${new URLSearchParams({ cursor: props.next })}`}>Next page</a>
				</p>
			) : null}
		</Layout>
	);
}
