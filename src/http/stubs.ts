import type { AppEnv } from "../config";

/** The object holding partition 0 of a topic (DESIGN.md "Scale": `{topic}#{partition}`). */
export function topicStub(env: AppEnv, topic: string) {
	return env.TOPIC.getByName(`${topic}#0`);
}

/** The one registry object that lists topic names. */
export function registryStub(env: AppEnv) {
	return env.REGISTRY.getByName("registry");
}
