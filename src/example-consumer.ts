import type { QueueDelivery } from "./delivery/queue";

/**
 * The example consumer of the `sundial-example` queue (wrangler.toml): logs each message that a
 * `queue` subscription delivered and acks it. Replace it with your own consumer Worker.
 */
export async function exampleConsumer(batch: MessageBatch<QueueDelivery>): Promise<void> {
	for (const message of batch.messages) {
		const m = message.body;
		console.log(
			`sundial example consumer: ${m.topic}/${m.subscription} message ${m.id} attempt ${m.attempt} due ${m.deliver_at}: ${JSON.stringify(m.body)}`,
		);
		message.ack();
	}
}
