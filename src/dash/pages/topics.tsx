import { Layout, ms, topicHref, type Viewer } from "./layout";

/** One row of the topics list. */
export interface TopicRow {
	name: string;
	partitions: number;
	subscriptions: number;
	counts: { scheduled: number; in_flight: number; delivered: number; dead: number; cancelled: number };
	/** The worst subscription's `oldest_due_lag_ms`. */
	lagMs: number;
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

/** `/dash`: every topic the token may read, with partitions, counts per state and lag. */
export function TopicsPage(props: { viewer: Viewer; topics: TopicRow[]; next: string | null }) {
	return (
		<Layout title="Topics" viewer={props.viewer}>
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
				Lag is the worst subscription's <code>oldest_due_lag_ms</code>. A publish rate is not listed here: Sundial keeps
				no counter over time, so the topic page measures it live from the topic's tail.
			</p>
			<h2>Message lookup</h2>
			<LookupForm />
		</Layout>
	);
}
