import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { json, receiverUrl, uniqueName, v2 } from "../helpers";
import { partitionedTopic } from "../partitions";

/** Scoped tokens (DESIGN.md "Tokens (scoped access)", README "Tokens"). */

type Created = {
	id: string;
	token: string;
	prefix: string;
	scopes: string[];
	topics: string[];
	expires_at: string | null;
};

async function createToken(body: Record<string, unknown>): Promise<Created> {
	const res = await json<Created>("POST", "/v1/tokens", { name: uniqueName("tok"), ...body });
	if (res.status !== 201) throw new Error(`token not created: ${JSON.stringify(res.body)}`);
	return res.body;
}

/** A request with `token` as the bearer. */
function as(token: string | null, method: string, path: string, body?: unknown): Promise<Response> {
	const headers: Record<string, string> = { "content-type": "application/json" };
	if (token !== null) headers.authorization = `Bearer ${token}`;
	return exports.default.fetch(
		new Request(`http://sundial.test${path}`, {
			method,
			headers,
			body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
		}),
	);
}

describe("tokens: create, list, revoke", () => {
	it("shows a token once, lists it by prefix without it, and revokes it at once", async () => {
		const created = await createToken({ scopes: ["read"], topics: ["orders-*"], expires_in: "90d" });
		expect(created.token).toMatch(/^sdl_[A-Za-z0-9_-]{43}$/);
		expect(created.id).toMatch(/^tok_[0-9a-f]{16}$/);
		expect(created.prefix).toBe(created.token.slice(0, 10));
		expect(created).toMatchObject({ scopes: ["read"], topics: ["orders-*"] });
		expect(Date.parse(created.expires_at as string) - Date.now()).toBeGreaterThan(89 * 86_400_000);
		const list = await json<{ tokens: Record<string, unknown>[] }>("GET", "/v1/tokens");
		const listed = list.body.tokens.find((t) => t.id === created.id);
		expect(listed).toMatchObject({ prefix: created.prefix, scopes: ["read"], last_used_at: null });
		expect(JSON.stringify(list.body)).not.toContain(created.token);
		expect((await as(created.token, "GET", "/v1/topics")).status).toBe(200);
		expect(
			(await json<{ tokens: { id: string; last_used_at: string | null }[] }>("GET", "/v1/tokens")).body.tokens.find(
				(t) => t.id === created.id,
			)?.last_used_at,
		).not.toBeNull();
		expect((await json("DELETE", `/v1/tokens/${created.id}`)).status).toBe(200);
		const refused = await as(created.token, "GET", "/v1/topics");
		expect(refused.status).toBe(401);
		expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
		expect((await json("DELETE", `/v1/tokens/${created.id}`)).status).toBe(404);
	});

	it("refuses an expired token, and a token Sundial never issued", async () => {
		const created = await createToken({ scopes: ["read"], expires_in: "1m" });
		await runInDurableObject(env.TOKENS.getByName("tokens"), (_i, state) => {
			state.storage.sql.exec("UPDATE tokens SET expires_at_ms = ? WHERE id = ?", Date.now() - 1, created.id);
		});
		expect((await as(created.token, "GET", "/v1/topics")).status).toBe(401);
		expect((await as(`sdl_${"x".repeat(43)}`, "GET", "/v1/topics")).status).toBe(401);
		expect((await as(null, "GET", "/v1/topics")).status).toBe(401);
	});

	it("answers 400 naming the field for bad input, and 403 to a token without admin", async () => {
		const bad: [Record<string, unknown>, string][] = [
			[{ name: "x", scopes: [] }, "scopes"],
			[{ name: "x", scopes: ["write"] }, "scopes"],
			[{ name: "x", scopes: ["read", "read"] }, "scopes"],
			[{ name: "x", scopes: ["read"], topics: ["bad topic"] }, "topics"],
			[{ name: "x", scopes: ["read"], topics: ["*x"] }, "topics"],
			[{ name: "x", scopes: ["read"], topics: [] }, "topics"],
			[{ name: "x", scopes: ["read"], expires_in: "10s" }, "expires_in"],
			[{ name: "x", scopes: ["read"], expires_in: "11y" }, "expires_in"],
			[{ name: "", scopes: ["read"] }, "name"],
			[{ scopes: ["read"] }, "name"],
			[{ name: "x", scopes: ["read"], admin: true }, "admin"],
		];
		for (const [body, field] of bad) {
			const res = await json("POST", "/v1/tokens", body);
			expect(res.status, JSON.stringify(body)).toBe(400);
			expect(JSON.stringify(res.body), JSON.stringify(body)).toContain(field);
		}
		expect((await json("DELETE", "/v1/tokens/not-an-id")).status).toBe(400);
		const reader = await createToken({ scopes: ["read", "publish", "consume"] });
		for (const [method, path] of [
			["GET", "/v1/tokens"],
			["POST", "/v1/tokens"],
			["DELETE", `/v1/tokens/${reader.id}`],
		] as const) {
			const res = await as(
				reader.token,
				method,
				path,
				method === "POST" ? { name: "y", scopes: ["admin"] } : undefined,
			);
			expect(res.status, `${method} ${path}`).toBe(403);
			expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
		}
	});
});

describe("tokens: scopes and topic patterns", () => {
	it("publish may publish and steer in its topics only; it may not read, consume or administer", async () => {
		const mine = uniqueName("orders");
		const other = uniqueName("billing");
		await partitionedTopic(mine, 2);
		await partitionedTopic(other, 1);
		const publisher = await createToken({ scopes: ["publish"], topics: [`${mine.slice(0, 8)}*`] });
		const sent = await as(publisher.token, "POST", `/v1/topics/${mine}/messages`, { body: 1, id: "p1", delay: "1h" });
		expect(sent.status).toBe(201);
		expect(
			(await as(publisher.token, "POST", `/v1/topics/${mine}/messages/p1/reschedule`, { delay: "2h" })).status,
		).toBe(200);
		const elsewhere = await as(publisher.token, "POST", `/v1/topics/${other}/messages`, { body: 1 });
		expect(elsewhere.status).toBe(403);
		expect(((await elsewhere.json()) as { error: { message: string } }).error.message).toContain(other);
		for (const [method, path] of [
			["GET", `/v1/topics/${mine}/messages/p1`],
			["DELETE", `/v1/topics/${mine}`],
			["PUT", `/v1/topics/${mine}/subscriptions/x`],
			["POST", `/v1/topics/${mine}/subscriptions/hook/receive`],
			["DELETE", `/v1/topics/${mine}/subscriptions/hook/dead`],
		] as const) {
			const body = method === "GET" ? undefined : {};
			expect((await as(publisher.token, method, path, body)).status, `${method} ${path}`).toBe(403);
		}
		// Nothing a refused request named changed.
		expect((await json("GET", `/v1/topics/${mine}`)).status).toBe(200);
	});

	it("read sees only its topics in the list; consume receives and acks; admin does everything", async () => {
		const a = uniqueName("seen");
		const b = uniqueName("hidden");
		await partitionedTopic(a, 1, { type: "pull" });
		await partitionedTopic(b, 1);
		const reader = await createToken({ scopes: ["read"], topics: [a] });
		const list = (await (await as(reader.token, "GET", "/v1/topics?limit=1000")).json()) as {
			topics: { name: string }[];
		};
		expect(list.topics.map((t) => t.name)).toContain(a);
		expect(list.topics.map((t) => t.name)).not.toContain(b);
		expect((await as(reader.token, "GET", `/v1/topics/${b}`)).status).toBe(403);
		const consumer = await createToken({ scopes: ["consume"], topics: [a] });
		expect((await json("POST", `/v1/topics/${a}/messages`, { body: 7 })).status).toBe(201);
		const got = (await (await as(consumer.token, "POST", `/v1/topics/${a}/subscriptions/hook/receive`, {})).json()) as {
			messages: { receipt: string }[];
		};
		expect(got.messages).toHaveLength(1);
		const acked = await as(consumer.token, "POST", `/v1/topics/${a}/subscriptions/hook/ack`, {
			receipts: [got.messages[0]?.receipt],
		});
		expect(acked.status).toBe(200);
		expect((await as(consumer.token, "POST", `/v1/topics/${a}/messages`, { body: 1 })).status).toBe(403);
		const admin = await createToken({ scopes: ["admin"], topics: [a] });
		expect((await as(admin.token, "GET", `/v1/topics/${a}/subscriptions/hook`)).status).toBe(200);
		expect((await as(admin.token, "DELETE", `/v1/topics/${b}`)).status).toBe(403);
	});
});

describe("tokens on /v2", () => {
	it("a publish token for every topic publishes to URLs; one for a URL group only to that group", async () => {
		const url = `${receiverUrl()}/tok/v2/${uniqueName("u")}`;
		const group = uniqueName("grp");
		const made = await v2(
			"POST",
			`/v2/topics/${group}/endpoints`,
			{ "content-type": "application/json" },
			JSON.stringify({ endpoints: [{ url }] }),
		);
		expect(made.status).toBe(200);
		const any = await createToken({ scopes: ["publish"] });
		const toUrl = await as(any.token, "POST", `/v2/publish/${url}`, "x");
		expect(toUrl.status).toBe(200);
		const grouped = await createToken({ scopes: ["publish"], topics: [group] });
		expect((await as(grouped.token, "POST", `/v2/publish/${group}`, "x")).status).toBe(200);
		const refused = await as(grouped.token, "POST", `/v2/publish/${url}`, "x");
		expect(refused.status).toBe(403);
		expect(await refused.json()).toEqual({ error: expect.stringContaining("may not use topic") });
		expect((await as(grouped.token, "GET", "/v2/dlq")).status).toBe(403);
	});
});

describe("every documented route states and enforces its scope", () => {
	type Operation = { "x-sundial-scope"?: string; security?: unknown[] };
	const fill = (path: string) =>
		path.replace(/\{(\w+)\}/g, (_m, name: string) =>
			name === "destination"
				? "https://example.com/x"
				: name === "id"
					? "tok_0123456789abcdef"
					: name === "messageId"
						? "msg_x"
						: `${name}1`,
		);

	it("answers 401 without a token and 403 with a token that lacks the route's scope", async () => {
		const doc = (await (await exports.default.fetch("http://sundial.test/openapi.json")).json()) as {
			paths: Record<string, Record<string, Operation>>;
		};
		const all = ["publish", "consume", "read"];
		const tokens = new Map<string, string>();
		for (const scope of [...all, "admin"]) {
			// A token with every scope but this one (admin holds them all: for admin routes, the other three).
			const scopes = scope === "admin" ? all : all.filter((s) => s !== scope);
			tokens.set(scope, (await createToken({ scopes })).token);
		}
		let checked = 0;
		for (const [path, operations] of Object.entries(doc.paths)) {
			for (const [method, op] of Object.entries(operations)) {
				if (!op.security) continue; // /health, /openapi.json, /docs
				// The dashboard (/dash) is not in the document: its routes take a session cookie, not a bearer
				// token; dash-session.test.ts walks them (401 without a session) and dash-actions.test.ts checks scopes.
				const scope = op["x-sundial-scope"];
				expect(scope, `${method} ${path} states no scope`).toMatch(/^(publish|consume|read|admin)$/);
				const url = fill(path);
				const body = method === "get" ? undefined : "{}";
				const anonymous = await as(null, method.toUpperCase(), url, body);
				expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
				const lacking = await as(tokens.get(scope as string) as string, method.toUpperCase(), url, body);
				expect(lacking.status, `${method} ${path} without "${scope}"`).toBe(403);
				checked++;
			}
		}
		expect(checked).toBeGreaterThan(60);
	});
});
