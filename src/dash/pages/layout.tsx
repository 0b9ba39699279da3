import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "../csrf";

/** What every page of a signed-in session shows in its header. */
export interface Viewer {
	/** Who is signed in, in words ("admin token", "token tok_… (read on orders-*)"). */
	who: string;
	/** The session's CSRF token, for the sign-out form and every action. */
	csrf: string;
}

/** The hidden CSRF field every state-changing form carries. */
export function CsrfField(props: { csrf: string }) {
	return <input type="hidden" name={CSRF_FIELD} value={props.csrf} />;
}

/** A form posting one action: its hidden CSRF field, extra hidden fields, and one button. */
export function ActionForm(props: {
	action: string;
	csrf: string;
	label: string;
	fields?: Record<string, string>;
	confirm?: boolean;
	danger?: boolean;
}) {
	return (
		<form method="post" action={props.action} class="inline">
			<CsrfField csrf={props.csrf} />
			{Object.entries(props.fields ?? {}).map(([name, value]) => (
				<input type="hidden" name={name} value={value} />
			))}
			<button type="submit" class={props.danger ? "danger" : undefined}>
				{props.label}
			</button>
		</form>
	);
}

/** The page frame: head (stylesheet and optional script from /dash/assets, nothing third-party), header, main. */
export function Layout(props: { title: string; viewer: Viewer | null; script?: string; children?: Child }) {
	return (
		<html lang="en">
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<meta name="referrer" content="no-referrer" />
				<title>{`${props.title} · Sundial`}</title>
				<link rel="stylesheet" href="/dash/assets/dash.css" />
				<link rel="icon" href="/dash/assets/icon.svg" type="image/svg+xml" />
				{props.script ? <script src={props.script} defer /> : null}
			</head>
			<body>
				<header>
					<a class="brand" href="/dash">
						Sundial
					</a>
					{props.viewer ? (
						<nav>
							<a href="/dash">Topics</a>
							<span class="who">{props.viewer.who}</span>
							<form method="post" action="/dash/logout" class="inline">
								<CsrfField csrf={props.viewer.csrf} />
								<button type="submit">Sign out</button>
							</form>
						</nav>
					) : null}
				</header>
				<main>{props.children}</main>
			</body>
		</html>
	);
}

/** A table of label / value pairs. */
export function Facts(props: { rows: [string, Child][] }) {
	return (
		<dl class="facts">
			{props.rows.map(([label, value]) => (
				<>
					<dt>{label}</dt>
					<dd>{value}</dd>
				</>
			))}
		</dl>
	);
}

/** A duration in ms as people read it ("0 ms", "1.2 s", "3.0 min", "7.0 d"). */
export function ms(value: number | null | undefined): string {
	if (value === null || value === undefined) return "–";
	if (value < 1000) return `${value} ms`;
	if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 1 : 0)} s`;
	if (value < 3_600_000) return `${(value / 60_000).toFixed(1)} min`;
	if (value < 86_400_000) return `${(value / 3_600_000).toFixed(1)} h`;
	return `${(value / 86_400_000).toFixed(1)} d`;
}

/** `/dash/message?topic=&id=`: the message lookup page of one message. */
export function messageHref(topic: string, id: string): string {
	return `/dash/message?${new URLSearchParams({ topic, id })}`;
}

/** `/dash/topics/{topic}` plus more path segments, each percent-encoded. */
export function topicHref(topic: string, ...rest: string[]): string {
	return ["/dash/topics", topic, ...rest].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join("/");
}
