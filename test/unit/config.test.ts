import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { createApp } from "../../src/http/app";

const app = createApp();
const call = (vars: Record<string, string | undefined>, headers: Record<string, string> = {}) =>
	app.fetch(new Request("http://sundial.test/v1/topics", { headers }), { ...env, ...vars });

describe("configuration", () => {
	it("refuses every /v1 request when no token is configured (fail closed)", async () => {
		for (const token of [undefined, "", "   "]) {
			const res = await call({ SUNDIAL_TOKEN: token }, { authorization: "Bearer anything" });
			expect(res.status).toBe(503);
			expect(await res.json()).toMatchObject({ error: { code: "token_not_configured" } });
		}
		const health = await app.fetch(new Request("http://sundial.test/health"), { ...env, SUNDIAL_TOKEN: undefined });
		expect(health.status).toBe(200);
	});

	it("accepts the configured token and nothing else", async () => {
		expect((await call({ SUNDIAL_TOKEN: "s3cret" }, { authorization: "Bearer s3cret" })).status).toBe(200);
		expect((await call({ SUNDIAL_TOKEN: "s3cret" }, { authorization: "Bearer s3cret2" })).status).toBe(401);
		expect((await call({ SUNDIAL_TOKEN: "s3cret" }, { authorization: "Bearer s3cre" })).status).toBe(401);
	});

	it("names a bad variable in a 503 instead of failing obscurely", async () => {
		const res = await call({ SUNDIAL_MAX_BATCH: "lots" }, { authorization: "Bearer test-token" });
		expect(res.status).toBe(503);
		const body = (await res.json()) as { error: { code: string; message: string } };
		expect(body.error.code).toBe("config_invalid");
		expect(body.error.message).toContain("SUNDIAL_MAX_BATCH");
	});

	it("parses limits with their documented defaults", () => {
		const config = getConfig({ SUNDIAL_TOKEN: "t" });
		expect(config).toMatchObject({
			token: "t",
			allowHttp: false,
			maxBodyBytes: 1_048_576,
			maxRequestBytes: 8_388_608,
			maxBatchItems: 1000,
			maxDelayMs: 365 * 86_400_000,
			maxDeliveriesPerAlarm: 1000,
			maxSubscriptions: 100,
			maxSchedules: 1000,
			qstashKeys: null,
		});
		expect(getConfig({ SUNDIAL_ALLOW_HTTP: "1" }).allowHttp).toBe(true);
	});
});
