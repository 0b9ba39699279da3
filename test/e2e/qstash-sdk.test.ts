import { Client, QstashError } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { useSundial } from "./fixture.js";
import type { Sundial } from "./lib.js";

/** The real @upstash/qstash SDK against the real Worker: what works of /v2 so far. */
describe("@upstash/qstash against /v2 (wrangler dev)", () => {
	let sundial: Sundial;
	let client: Client;

	useSundial(
		async (s) => {
			sundial = s;
			// `retry: false`: an error answer must surface at once, not after the SDK's backoff.
			client = new Client({ baseUrl: sundial.worker.url, token: sundial.token, retry: false });
		},
		{ receiver: false },
	);

	it("manages URL groups: add endpoints, get, list, remove, delete", async () => {
		await client.urlGroups.addEndpoints({
			name: "sdk-group",
			endpoints: [{ name: "one", url: "http://127.0.0.1:9/one" }, { url: "http://127.0.0.1:9/two" }],
		});
		const group = await client.urlGroups.get("sdk-group");
		expect(group.name).toBe("sdk-group");
		expect(typeof group.createdAt).toBe("number");
		expect(group.endpoints.map((e) => e.url).sort()).toEqual(["http://127.0.0.1:9/one", "http://127.0.0.1:9/two"]);
		expect((await client.urlGroups.list()).map((g) => g.name)).toContain("sdk-group");

		await client.urlGroups.removeEndpoints({ name: "sdk-group", endpoints: [{ name: "one" }] });
		expect((await client.urlGroups.get("sdk-group")).endpoints.map((e) => e.url)).toEqual(["http://127.0.0.1:9/two"]);
		await client.urlGroups.delete("sdk-group");
		await expect(client.urlGroups.get("sdk-group")).rejects.toMatchObject({ status: 404 });
	});

	it("surfaces Sundial's errors as QstashError with the status: 400 bad endpoint, 501 queues", async () => {
		const bad = client.urlGroups.addEndpoints({ name: "sdk-bad", endpoints: [{ url: "ftp://example.com/x" }] });
		await expect(bad).rejects.toBeInstanceOf(QstashError);
		await expect(bad).rejects.toMatchObject({ status: 400 });
		const queued = client.queue({ queueName: "q" }).enqueueJSON({ url: "http://127.0.0.1:9/x", body: { a: 1 } });
		await expect(queued).rejects.toMatchObject({ status: 501 });
	});

	it("refuses a wrong token with 401", async () => {
		const wrong = new Client({ baseUrl: sundial.worker.url, token: "wrong", retry: false });
		await expect(wrong.urlGroups.list()).rejects.toMatchObject({ status: 401 });
	});

	it("GET /v2/keys answers the keys the Worker signs with", async () => {
		expect((await sundial.api("GET", "/v2/keys")).body).toEqual(sundial.qstashKeys);
	});
});
