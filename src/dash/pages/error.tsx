import type { ErrorIssue } from "../../errors";
import { Layout, type Viewer } from "./layout";

const TITLES: Record<number, string> = {
	400: "Bad request",
	401: "Not signed in",
	403: "Forbidden",
	404: "Not found",
	405: "Method not allowed",
	409: "Conflict",
	413: "Too large",
	415: "Unsupported form",
	429: "Too many requests",
	503: "Unavailable",
};

/** An error as a page: its status, the API's code and message, and each bad field. */
export function ErrorPage(props: {
	status: number;
	code: string;
	message: string;
	issues?: ErrorIssue[];
	viewer: Viewer | null;
}) {
	const title = TITLES[props.status] ?? "Error";
	return (
		<Layout title={title} viewer={props.viewer}>
			<section class="card narrow">
				<h1>
					{props.status} {title}
				</h1>
				<p class="error">
					<code>{props.code}</code>: {props.message}
				</p>
				{props.issues && props.issues.length > 0 ? (
					<ul class="issues">
						{props.issues.map((i) => (
							<li>
								<code>{i.path}</code>: {i.message}
							</li>
						))}
					</ul>
				) : null}
				<p>
					<a href="/dash">Back to the topics</a>
				</p>
			</section>
		</Layout>
	);
}
