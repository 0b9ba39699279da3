import type { z } from "@hono/zod-openapi";
import type { MessageSchema } from "../../http/views";
import { Facts, Layout, topicHref, type Viewer } from "./layout";
import { LookupForm } from "./topics";

/** A message as `GET /v1/topics/{topic}/messages/{id}` answers it. */
export type Message = z.infer<typeof MessageSchema>;
type Delivery = Message["deliveries"][number];

/** One failed attempt of a delivery's `history`. */
export type HistoryEntry = NonNullable<Delivery["history"]>[number];

/** A delivery's history, or null when the API gave none ("not available"). */
export function historyOf(delivery: Delivery): HistoryEntry[] | null {
	const history: unknown = (delivery as { history?: unknown }).history;
	return Array.isArray(history) ? (history as HistoryEntry[]) : null;
}

function History(props: { history: HistoryEntry[] | null }) {
	if (props.history === null) return <p class="note">Attempt history: not available from this Sundial's API.</p>;
	if (props.history.length === 0) return <p class="note">No failed attempts.</p>;
	return (
		<table class="history">
			<thead>
				<tr>
					<th class="num">attempt</th>
					<th>at</th>
					<th>outcome</th>
					<th class="num">status</th>
					<th>error</th>
				</tr>
			</thead>
			<tbody>
				{props.history.map((h) => (
					<tr>
						<td class="num">{String(h.attempt)}</td>
						<td>{String(h.at)}</td>
						<td>{String(h.outcome)}</td>
						<td class="num">{h.status === null ? "–" : String(h.status)}</td>
						<td class="error-text">{h.error === null ? "–" : String(h.error)}</td>
					</tr>
				))}
			</tbody>
		</table>
	);
}

/** When a delivery ended: delivered at, or (dead) the last attempt of its history when known. */
function ended(d: Delivery, history: HistoryEntry[] | null): string {
	if (d.delivered_at) return `delivered ${d.delivered_at}`;
	if (d.state === "dead") return history && history.length > 0 ? `dead ${history.at(-1)?.at}` : "dead";
	return "–";
}

/** `/dash/message?topic=&id=`: a message and the timeline of each of its deliveries. */
export function MessagePage(props: { viewer: Viewer; topic: string; message: Message }) {
	const m = props.message;
	const body = typeof m.body === "string" ? m.body : JSON.stringify(m.body, null, 2);
	return (
		<Layout title={`Message ${m.id}`} viewer={props.viewer}>
			<p class="crumbs">
				<a href={topicHref(props.topic)}>{props.topic}</a> / message
			</p>
			<h1>{m.id}</h1>
			<section class="card">
				<Facts
					rows={[
						["deliver at", m.deliver_at],
						["published at", m.published_at],
						["key", m.key ?? "–"],
						["request id", m.request_id ?? "–"],
						["content type", m.content_type],
						["headers", Object.keys(m.headers).length > 0 ? JSON.stringify(m.headers) : "–"],
					]}
				/>
				<h2>Body</h2>
				<pre class="body">{body}</pre>
			</section>
			<section class="card" id="timeline">
				<h2>Deliveries</h2>
				{m.deliveries.length === 0 ? <p class="note">No deliveries (no subscriptions when it was published).</p> : null}
				{m.deliveries.map((d) => {
					const history = historyOf(d);
					return (
						<div class="delivery" data-subscription={d.subscription}>
							<h3>
								{d.subscription} <span class={`state ${d.state}`}>{d.state}</span>
							</h3>
							<Facts
								rows={[
									["attempts", d.attempts],
									["last status", d.last_status ?? "–"],
									["last error", d.last_error ?? "–"],
									["next attempt", d.next_attempt_at ?? "–"],
									["ended", ended(d, history)],
								]}
							/>
							<History history={history} />
						</div>
					);
				})}
			</section>
			<LookupForm topic={props.topic} />
		</Layout>
	);
}
