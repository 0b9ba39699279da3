import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Sundial, verifyWebhook } from "../../packages/sdk/src/index.js";
import { newSecret, signWebhook } from "../../src/delivery/signing";
import { TOKEN, uniqueName } from "../helpers";

/** The SDK inside workerd (what a Worker using it runs), calling the Worker through its fetch handler. */
describe("sundial-sdk in a Worker", () => {
	const sundial = new Sundial({
		url: "http://sundial.test",
		token: TOKEN,
		fetch: (input, init) => exports.default.fetch(new Request(input, init)),
	});

	it("publishes, reads and receives through a fetch it was handed", async () => {
		const topic = uniqueName("sdk");
		await sundial.topics.upsert(topic, { partitions: 2 });
		await sundial.subscriptions.upsert(topic, "p", { type: "pull" });
		await sundial.messages.publishBatch(topic, [
			{ body: { n: 1 }, id: "a" },
			{ body: { n: 2 }, id: "b", deliver_at: new Date(Date.now() - 1000) },
		]);
		expect((await sundial.messages.get(topic, "b")).body).toEqual({ n: 2 });
		const got = await sundial.pull.receive(topic, "p", { max: 10, wait: "2s" });
		expect(got.map((m) => m.id).sort()).toEqual(["a", "b"]);
		const acked = await sundial.pull.ack(
			topic,
			"p",
			got.map((m) => m.receipt),
		);
		expect(Object.values(acked.results)).toEqual([true, true]);
	});

	it("verifies a signature made by the Worker's own signer, and refuses a forged one", async () => {
		const secret = newSecret();
		const timestampSec = Math.floor(Date.now() / 1000);
		const body = JSON.stringify({ order: 42 });
		const request = async (signedBody: string) =>
			new Request("https://consumer.test/hook", {
				method: "POST",
				headers: {
					"content-type": "application/json",
					"webhook-id": "m-1",
					"webhook-timestamp": String(timestampSec),
					"webhook-signature": await signWebhook(secret, "m-1", timestampSec, signedBody),
					"sundial-attempt": "2",
				},
				body,
			});
		expect(await verifyWebhook(secret, await request(body))).toMatchObject({
			id: "m-1",
			body: { order: 42 },
			attempt: 2,
		});
		const forged = await verifyWebhook(secret, await request('{"order":1}')).catch((e: unknown) => e);
		expect(forged).toMatchObject({ status: 0, code: "invalid_signature" });
	});
});
