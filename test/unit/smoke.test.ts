import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "../helpers";

describe("smoke", () => {
	it("creates a topic", async () => {
		const name = uniqueName();
		const res = await json("PUT", `/v1/topics/${name}`, { retention: "7d" });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ name, retention_ms: 7 * 86_400_000 });
		const again = await api("PUT", `/v1/topics/${name}`, {});
		expect(again.status).toBe(200);
	});
});
