import { topicHref } from "./layout";

/**
 * The live delivery events of the topic's tail. /dash/assets/live.js connects to the cookie-checked
 * `/dash/topics/{topic}/tail` and fills the table (text only, never markup); without scripts it stays empty.
 */
export function LiveSection(props: { topic: string }) {
	return (
		<section class="card" id="live" data-tail={topicHref(props.topic, "tail")} data-topic={props.topic}>
			<h2>Live events</h2>
			<p class="live-status">
				<span id="live-state">connecting…</span> · <span id="live-rate">publish rate: measuring</span>
			</p>
			<table>
				<thead>
					<tr>
						<th>time</th>
						<th>event</th>
						<th>subscription</th>
						<th>message</th>
						<th class="num">attempt</th>
						<th>result</th>
						<th class="num">late</th>
					</tr>
				</thead>
				<tbody id="live-events" />
			</table>
		</section>
	);
}
