import type { z } from "@hono/zod-openapi";
import type { SubscriptionSchema } from "../../http/views";
import { ms } from "./layout";

/** A subscription as `GET /v1/topics/{topic}/subscriptions` answers it. */
export type Subscription = z.infer<typeof SubscriptionSchema>;

function limits(s: Subscription): string {
	const parts: string[] = [];
	if (s.rate) parts.push(`rate ${s.rate.limit} per ${ms(s.rate.period_ms)}`);
	if (s.parallelism !== null) parts.push(`parallelism ${s.parallelism}`);
	if (s.ordering === "key") parts.push("ordering by key");
	return parts.length > 0 ? parts.join(", ") : "none";
}

function heldBack(s: Subscription): string {
	const h = s.held_back;
	const parts = (
		[
			["isolation", h.isolation],
			["parallelism", h.parallelism],
			["rate", h.rate],
		] as const
	)
		.filter(([, n]) => n > 0)
		.map(([why, n]) => `${n} by ${why}`);
	return parts.length > 0 ? parts.join(", ") : "0";
}

/** Per subscription: where it delivers, counts per state, lag, limits and what they hold back. */
export function SubscriptionsSection(props: { subscriptions: Subscription[] }) {
	return (
		<section class="card" id="subscriptions">
			<h2>Subscriptions</h2>
			{props.subscriptions.length === 0 ? (
				<p class="note">No subscriptions: publishing is refused until one exists.</p>
			) : (
				<table>
					<thead>
						<tr>
							<th>name</th>
							<th>type</th>
							<th class="num">scheduled</th>
							<th class="num">in flight</th>
							<th class="num">delivered</th>
							<th class="num">dead</th>
							<th class="num">lag</th>
							<th>limits</th>
							<th>held back</th>
						</tr>
					</thead>
					<tbody>
						{props.subscriptions.map((s) => (
							<tr>
								<td>
									{s.name}
									{s.paused ? <span class="tag">paused</span> : null}
								</td>
								<td title={s.url ?? s.queue ?? ""}>{s.type}</td>
								<td class="num">{s.counts.scheduled}</td>
								<td class="num">{s.counts.in_flight}</td>
								<td class="num">{s.counts.delivered}</td>
								<td class={s.counts.dead > 0 ? "num bad" : "num"}>{s.counts.dead}</td>
								<td class="num">{ms(s.oldest_due_lag_ms)}</td>
								<td>{limits(s)}</td>
								<td>{heldBack(s)}</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
		</section>
	);
}
