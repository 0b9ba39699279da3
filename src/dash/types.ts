import type { ExecutionContext } from "hono";
import type { AppEnv } from "../config";
import type { Principal } from "../tokens/scopes";
import type { Session } from "./session";

/** The JSON API's fetch (the app of src/http/app.ts): the dashboard reads and acts through it. */
export type ApiFetch = (request: Request, env: AppEnv, ctx?: ExecutionContext) => Response | Promise<Response>;

/** Hono's environment for the dashboard's routes. */
export interface DashEnv {
	Bindings: AppEnv;
	Variables: {
		/** The signed-in session (set by the session check in routes.ts). */
		session: Session;
		/** Who the session's token is, verified on this request. */
		principal: Principal;
		/** The JSON API the pages call with the session's token. */
		api: ApiFetch;
		/** A POST's form fields, read once its origin and CSRF token were checked. */
		form: Record<string, string>;
	};
}
