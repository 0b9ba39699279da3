import type { AppEnv } from "./config";
import { createApp } from "./http/app";

export { PublishEntrypoint } from "./entrypoint";
export { RegistryObject } from "./registry/object";
export { TopicObject } from "./topic/object";

const app = createApp();

export default { fetch: app.fetch } satisfies ExportedHandler<AppEnv>;
