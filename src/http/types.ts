import type { AppEnv } from "../config";
import type { Principal } from "../tokens/scopes";

/** Hono's environment for Sundial's app. */
export interface HonoEnv {
	Bindings: AppEnv;
	Variables: {
		/** Who made the request (set by the bearer check, http/auth.ts). */
		principal: Principal;
	};
}
