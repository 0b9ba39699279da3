/**
 * A rate cell: "…" until the page's script (live-client.ts) has read the totals again, then "x/s" over
 * the interval since the previous reading. It carries the total it was rendered with and when that was
 * read (the Worker's clock), so the first rate needs only one more reading, from GET /dash/topics.json.
 */
export function Rate(props: { topic: string; kind: "published" | "delivered"; total: number; readAtMs: number }) {
	return (
		<span
			class="rate"
			data-rate={props.kind}
			data-topic={props.topic}
			data-total={String(props.total)}
			data-read-at-ms={String(props.readAtMs)}
			title={`${props.total} ${props.kind} in all`}
		>
			…
		</span>
	);
}
