import type { AppEnv } from "../config";

/** The one registry object that lists topic names. */
export function registryStub(env: AppEnv) {
	return env.REGISTRY.getByName("registry");
}
