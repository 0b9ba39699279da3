import type { AppEnv } from "../config";

/** Hono's environment for Sundial's app. */
export interface HonoEnv {
	Bindings: AppEnv;
}
