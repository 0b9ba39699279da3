import type { AppEnv } from "./config";
import { dashboard } from "./dash/routes";
import type { QueueDelivery } from "./delivery/queue";
import { exampleConsumer } from "./example-consumer";
import { createApp } from "./http/app";

export { PublishEntrypoint } from "./entrypoint";
export { RegistryObject } from "./registry/object";
export { ScheduleObject } from "./schedule/object";
export { TailHub } from "./tail/hub";
export { TokenObject } from "./tokens/object";
export { TopicObject } from "./topic/object";

const app = createApp();
// The dashboard reads and acts through the JSON API (src/dash/api.ts); src/http knows nothing of it.
app.route("/dash", dashboard(app.fetch));

export default {
	fetch: app.fetch,
	queue: (batch: MessageBatch<QueueDelivery>) => exampleConsumer(batch),
} satisfies ExportedHandler<AppEnv, QueueDelivery>;
