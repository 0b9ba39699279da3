import { Layout } from "./layout";

/** The sign-in form: a token (admin or scoped), and where to go after. */
export function LoginPage(props: { next: string; message?: string | null }) {
	return (
		<Layout title="Sign in" viewer={null}>
			<section class="card narrow">
				<h1>Sign in</h1>
				<p>
					Paste a Sundial token: the admin token (<code>SUNDIAL_TOKEN</code>; <code>npm start</code> prints it) or a
					scoped token made by <code>POST /v1/tokens</code>. Pages need the <code>read</code> scope; each action needs
					the scope of its API route.
				</p>
				{props.message ? <p class="error">{props.message}</p> : null}
				<form method="post" action="/dash/login">
					<input type="hidden" name="next" value={props.next} />
					<label>
						Token
						<input type="password" name="token" autocomplete="off" required autofocus />
					</label>
					<button type="submit">Sign in</button>
				</form>
			</section>
		</Layout>
	);
}
