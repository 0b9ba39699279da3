import type { z } from "@hono/zod-openapi";
import type { TopicSchema } from "../../http/views";
import { type Dead, DeadSection } from "./dead";
import { type Lateness, LatenessSection } from "./lateness";
import { Facts, Layout, ms, type Viewer } from "./layout";
import { LiveSection } from "./live";
import { PublishSection } from "./publish";
import { Rate } from "./rate";
import { type Schedule, SchedulesSection } from "./schedules";
import { type Subscription, SubscriptionsSection } from "./subscriptions";
import { LookupForm } from "./topics";

/** A topic as `GET /v1/topics/{topic}` answers it. */
export type Topic = z.infer<typeof TopicSchema>;

/** Everything the topic page shows. */
export interface TopicPageData {
	topic: Topic;
	subscriptions: Subscription[];
	schedules: Schedule[];
	/** Null when the API has no lateness route (yet). */
	lateness: Lateness | null;
	dead: { subscription: string; dead: Dead[]; more: boolean }[];
	/** A notice after an action ("Published msg_…"). */
	notice: string | null;
	/** When the topic's totals were read (epoch ms). */
	readAtMs: number;
}

/** `/dash/topics/{topic}`: the topic's state, live events and actions (shown only to a token that may use them). */
export function TopicPage(props: { viewer: Viewer; data: TopicPageData; canPublish: boolean; canAdmin: boolean }) {
	const { topic, subscriptions } = props.data;
	const lagMs = Math.max(0, ...subscriptions.map((s) => s.oldest_due_lag_ms));
	return (
		<Layout title={topic.name} viewer={props.viewer} script="/dash/assets/live.js">
			<h1>{topic.name}</h1>
			{props.data.notice ? <p class="notice">{props.data.notice}</p> : null}
			<section class="card">
				<Facts
					rows={[
						["partitions", topic.partitions],
						["retention", ms(topic.retention_ms)],
						["messages", topic.messages],
						[
							"deliveries",
							`${topic.counts.scheduled} scheduled, ${topic.counts.in_flight} in flight, ${topic.counts.delivered} delivered, ${topic.counts.dead} dead, ${topic.counts.cancelled} cancelled`,
						],
						["lag", ms(lagMs)],
						[
							"publish rate",
							<Rate topic={topic.name} kind="published" total={topic.published_total} readAtMs={props.data.readAtMs} />,
						],
						[
							"delivery rate",
							<Rate topic={topic.name} kind="delivered" total={topic.delivered_total} readAtMs={props.data.readAtMs} />,
						],
						["created", topic.created_at],
					]}
				/>
				<LookupForm topic={topic.name} />
			</section>
			<SubscriptionsSection subscriptions={subscriptions} />
			<LatenessSection lateness={props.data.lateness} />
			<LiveSection topic={topic.name} />
			{props.canPublish ? <PublishSection topic={topic.name} csrf={props.viewer.csrf} /> : null}
			<SchedulesSection
				topic={topic.name}
				schedules={props.data.schedules}
				csrf={props.viewer.csrf}
				canPublish={props.canPublish}
			/>
			<DeadSection
				topic={topic.name}
				bySubscription={props.data.dead}
				csrf={props.viewer.csrf}
				canAdmin={props.canAdmin}
			/>
		</Layout>
	);
}
