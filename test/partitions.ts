import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { json, receiverUrl } from "./helpers";

/** Shared helpers of the partition tests (issue 10): each partition's own object. */

/** The object holding partition `p` of a topic. */
export const partitionStub = (topic: string, p: number) => env.TOPIC.getByName(`${topic}#${p}`);

/** Runs SQL inside one partition's object. */
export function partitionSql<T extends Record<string, SqlStorageValue> = Record<string, SqlStorageValue>>(
	topic: string,
	p: number,
	query: string,
	...bindings: SqlStorageValue[]
): Promise<T[]> {
	return runInDurableObject(partitionStub(topic, p), (_instance, state) =>
		state.storage.sql.exec<T>(query, ...bindings).toArray(),
	);
}

/** The message ids stored in each partition, by partition. */
export async function idsByPartition(topic: string, partitions: number): Promise<string[][]> {
	return Promise.all(
		Array.from({ length: partitions }, async (_, p) =>
			(await partitionSql<{ id: string }>(topic, p, "SELECT id FROM messages ORDER BY id")).map((r) => r.id),
		),
	);
}

/** Creates a topic with `partitions` and one subscription (`hook`: a webhook to `path` by default). */
export async function partitionedTopic(
	topic: string,
	partitions: number,
	subscription: Record<string, unknown> = { type: "webhook", url: `${receiverUrl()}/never/${topic}` },
): Promise<void> {
	const created = await json("PUT", `/v1/topics/${topic}`, { partitions });
	if (created.status !== 201) throw new Error(`topic not created: ${JSON.stringify(created.body)}`);
	const sub = await json("PUT", `/v1/topics/${topic}/subscriptions/hook`, subscription);
	if (sub.status !== 201) throw new Error(`subscription not created: ${JSON.stringify(sub.body)}`);
}

/** Publishes a batch and returns its results. */
export async function publishBatch(topic: string, items: Record<string, unknown>[]) {
	const res = await json<{ results: Record<string, unknown>[] }>("POST", `/v1/topics/${topic}/messages/batch`, items);
	if (res.status !== 200) throw new Error(`batch failed: ${JSON.stringify(res.body)}`);
	return res.body.results;
}
