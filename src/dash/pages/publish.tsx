import { CsrfField, topicHref } from "./layout";

/** The publish form (publish scope): a body as JSON or text, and the optional delay, id and key. */
export function PublishSection(props: { topic: string; csrf: string }) {
	return (
		<section class="card" id="publish">
			<h2>Publish</h2>
			<form method="post" action={topicHref(props.topic, "publish")} class="stack">
				<CsrfField csrf={props.csrf} />
				<label>
					Body
					<textarea name="body" rows={4} required>
						{'{"hello": "world"}'}
					</textarea>
				</label>
				<div class="row">
					<label>
						Content type
						<select name="content_type">
							<option value="application/json">application/json</option>
							<option value="text/plain">text/plain</option>
						</select>
					</label>
					<label>
						Delay <input name="delay" placeholder="30s" />
					</label>
					<label>
						Id <input name="id" placeholder="(generated)" />
					</label>
					<label>
						Key <input name="key" placeholder="(none)" />
					</label>
				</div>
				<button type="submit">Publish</button>
			</form>
		</section>
	);
}
