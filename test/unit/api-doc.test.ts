import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import apiDoc from "../../docs/API.md?raw";
import { DASH_ROUTES } from "../dash-helpers";

const METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/** Routes the Worker serves outside its OpenAPI document (the document itself among them). */
const PLAIN_ROUTES = ["GET /health", "GET /openapi.json", "GET /docs"];
// The dashboard's HTML routes are outside the document too (see DASH_ROUTES): documented in API.md "Dashboard".

/** Every `METHOD /path` the OpenAPI document describes. */
async function openApiRoutes(): Promise<string[]> {
	const res = await exports.default.fetch(new Request("http://sundial.test/openapi.json"));
	expect(res.status).toBe(200);
	const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
	return Object.entries(doc.paths).flatMap(([path, operations]) =>
		Object.keys(operations)
			.map((method) => method.toUpperCase())
			.filter((method) => METHODS.includes(method))
			.map((method) => `${method} ${path}`),
	);
}

/** Every `METHOD /path` written in the markdown (a query string or trailing full stop is not part of the path). */
function documentedRoutes(markdown: string): string[] {
	const pattern = new RegExp(`\\b(${METHODS.join("|")}) (/[A-Za-z0-9_.{}/-]*)`, "g");
	return [...new Set([...markdown.matchAll(pattern)].map((m) => `${m[1]} ${(m[2] as string).replace(/\.+$/, "")}`))];
}

describe("docs/API.md", () => {
	it("documents every route of the OpenAPI document", async () => {
		const documented = new Set(documentedRoutes(apiDoc));
		const missing = (await openApiRoutes()).filter((route) => !documented.has(route));
		expect(missing).toEqual([]);
	});

	it("documents no route that the OpenAPI document lacks", async () => {
		const served = new Set([...(await openApiRoutes()), ...PLAIN_ROUTES, ...DASH_ROUTES]);
		const unknown = documentedRoutes(apiDoc).filter((route) => !served.has(route));
		expect(unknown).toEqual([]);
	});

	it("documents every dashboard route", () => {
		const documented = new Set(documentedRoutes(apiDoc));
		expect(DASH_ROUTES.filter((route) => !documented.has(route))).toEqual([]);
	});

	it("names only plain routes that answer without a token", async () => {
		for (const route of PLAIN_ROUTES) {
			const [method, path] = route.split(" ") as [string, string];
			const res = await exports.default.fetch(new Request(`http://sundial.test${path}`, { method }));
			expect(res.status, route).toBe(200);
			await res.body?.cancel();
		}
	});
});
