import { OpenAPIHono, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { endpoint } from "../../src/http/endpoint";
import type { HonoEnv } from "../../src/http/types";

/**
 * SUNDIAL_CHECK_RESPONSES (on in every test run): a route whose JSON answer strays from the schema
 * it documents fails, so /openapi.json and docs/API.md cannot drift from what the code answers.
 */

/** A one-route app; what it threw is answered as the 500's text. */
function appAnswering(answer: unknown, status: 200 | 201 = 200): OpenAPIHono<HonoEnv> {
	const app = new OpenAPIHono<HonoEnv>();
	app.onError((error, c) => c.text(error.message, 500));
	app.use(async (c, next) => {
		c.set("principal", { kind: "admin" });
		await next();
	});
	endpoint(
		app,
		{
			method: "get",
			path: "/probe",
			scope: "read",
			tag: "test",
			summary: "probe",
			responses: { 200: { description: "ok", schema: z.object({ id: z.string(), key: z.string().nullable() }) } },
		},
		(c) => c.json(answer as Record<string, unknown>, status),
	);
	return app;
}

const run = (app: OpenAPIHono<HonoEnv>, check: string) =>
	app.request("/probe", {}, { SUNDIAL_CHECK_RESPONSES: check } as unknown as HonoEnv["Bindings"]);

describe("checking answers against their documented schemas", () => {
	it("lets a matching answer through unchanged", async () => {
		const res = await run(appAnswering({ id: "a", key: null }), "1");
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ id: "a", key: null });
	});

	it("fails an answer missing a documented field, naming the route and the field", async () => {
		const res = await run(appAnswering({ id: "a" }), "1");
		expect(res.status).toBe(500);
		expect(await res.text()).toMatch(/^GET \/probe answered 200 off its documented schema: key: /);
	});

	it("fails an answer with a status the route does not document", async () => {
		const res = await run(appAnswering({ id: "a", key: null }, 201), "1");
		expect(res.status).toBe(500);
		expect(await res.text()).toBe("GET /probe answered 201, which it does not document");
	});

	it("checks nothing when SUNDIAL_CHECK_RESPONSES is not 1", async () => {
		const res = await run(appAnswering({ id: "a" }), "");
		expect(res.status).toBe(200);
	});
});
