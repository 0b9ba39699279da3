import { Layout, ms, topicHref, type Viewer } from "./layout";
import { Rate } from "./rate";

/** One row of the topics list. */
export interface TopicRow {
	name: string;
	partitions: number;
	subscriptions: number;
	counts: { scheduled: number; in_flight: number; delivered: number; dead: number; cancelled: number };
	/** The worst subscription's `oldest_due_lag_ms`. */
	lagMs: number;
	publishedTotal: number;
	deliveredTotal: number;
	/** When the totals were read (epoch ms). */
	readAtMs: number;
}

/** A message lookup by topic and id (GET, so it is a plain link too). */
export function LookupForm(props: { topic?: string }) {
	return (
		<form method="get" action="/dash/message" class="lookup">
			{props.topic === undefined ? (
				<label>
					Topic <input name="topic" required />
				</label>
			) : (
				<input type="hidden" name="topic" value={props.topic} />
			)}
			<label>
				Message id <input name="id" required />
			</label>
			<button type="submit">Look up</button>
		</form>
	);
}

/** `/dash`: every topic the token may read, with partitions, counts per state, lag and rates. */
export function TopicsPage(props: { viewer: Viewer; topics: TopicRow[]; next: string | null }) {
	return (
		<Layout title="Topics" viewer={props.viewer} script="/dash/assets/live.js">
			<h1>Topics</h1>
			{props.topics.length === 0 ? (
				<p>
					No topics yet (or none this token may read). Create one with <code>{"PUT /v1/topics/{topic}"}</code>.
				</p>
			) : (
				<table>
					<thead>
						<tr>
							<th>topic</th>
							<th class="num">partitions</th>
							<th class="num">subscriptions</th>
							<th class="num">scheduled</th>
							<th class="num">in flight</th>
							<th class="num">delivered</th>
							<th class="num">dead</th>
							<th class="num">cancelled</th>
							<th class="num">lag</th>
							<th class="num">publish rate</th>
							<th class="num">delivery rate</th>
						</tr>
					</thead>
					<tbody>
						{props.topics.map((t) => (
							<tr>
								<td>
									<a href={topicHref(t.name)}>{t.name}</a>
								</td>
								<td class="num">{t.partitions}</td>
								<td class="num">{t.subscriptions}</td>
								<td class="num">{t.counts.scheduled}</td>
								<td class="num">{t.counts.in_flight}</td>
								<td class="num">{t.counts.delivered}</td>
								<td class={t.counts.dead > 0 ? "num bad" : "num"}>{t.counts.dead}</td>
								<td class="num">{t.counts.cancelled}</td>
								<td class="num">{ms(t.lagMs)}</td>
								<td class="num">
									<Rate topic={t.name} kind="published" total={t.publishedTotal} readAtMs={t.readAtMs} />
								</td>
								<td class="num">
									<Rate topic={t.name} kind="delivered" total={t.deliveredTotal} readAtMs={t.readAtMs} />
								</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			{props.next ? (
				<p>
					<a href={`/dash?${new URLSearchParams({ cursor: props.next })}`}>Next page</a>
				</p>
			) : null}
			<p class="note">
				Lag is the worst subscription's <code>oldest_due_lag_ms</code>. Publish and delivery rates are per second over
				the last 5 s, from the topics' <code>published_total</code> and <code>delivered_total</code> read again every 5
				s (… until the first reading).
			</p>
			<h2>Message lookup</h2>
			<LookupForm />
		</Layout>
	);
}
