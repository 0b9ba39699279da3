import { parseDurationMs } from "sundial-outbox";
import type { OrdersEnv } from "./env";

export { OrdersObject } from "./orders";

type Issue = { path: string; message: string };

const error = (status: number, code: string, message: string, issues?: Issue[]) =>
	Response.json({ error: issues ? { code, message, issues } : { code, message } }, { status });

/** All orders live in one object here; a real shop would use one per customer or per region. */
const shop = (env: OrdersEnv) => env.ORDERS.getByName("shop");

const TEXT = /^[\x20-\x7e]{1,100}$/;
/** Reminders further out than this are refused here (Sundial's own limit is 365 days by default). */
const MAX_REMIND_IN_MS = 30 * 86_400_000;

async function placeOrder(request: Request, env: OrdersEnv): Promise<Response> {
	let input: unknown;
	try {
		input = await request.json();
	} catch {
		return error(400, "invalid_request", 'the body must be JSON like {"customer": "ada", "item": "tea"}');
	}
	const fields =
		typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : null;
	if (fields === null) return error(400, "invalid_request", "the body must be a JSON object");
	const issues: Issue[] = [];
	for (const name of ["customer", "item"]) {
		const value = fields[name];
		if (typeof value !== "string" || !TEXT.test(value))
			issues.push({ path: name, message: "1–100 printable characters" });
	}
	const remindIn = fields.remind_in;
	if (remindIn !== undefined) {
		const ms = parseDurationMs(remindIn);
		if (ms === null) issues.push({ path: "remind_in", message: 'seconds or a duration like "30m"' });
		else if (ms > MAX_REMIND_IN_MS) issues.push({ path: "remind_in", message: "at most 30 days" });
	}
	if (issues.length > 0) return error(400, "invalid_request", "invalid order", issues);
	const result = await shop(env).placeOrder(
		fields.customer as string,
		fields.item as string,
		remindIn as string | number | undefined,
	);
	if (!result.ok) return error(400, result.error.code, result.error.message, result.error.issues);
	return Response.json(result.order, { status: 201 });
}

export default {
	async fetch(request, env): Promise<Response> {
		const { pathname } = new URL(request.url);
		if (pathname === "/health") return Response.json({ ok: true });
		if (pathname === "/orders") {
			if (request.method !== "POST") return error(405, "method_not_allowed", "POST an order here");
			return placeOrder(request, env);
		}
		const match = /^\/orders\/([A-Za-z0-9-]{1,100})$/.exec(pathname);
		if (match) {
			if (request.method !== "GET") return error(405, "method_not_allowed", "GET an order here");
			const order = await shop(env).getOrder(match[1] as string);
			return order ? Response.json(order) : error(404, "order_not_found", "no such order");
		}
		if (pathname === "/outbox") {
			if (request.method !== "GET") return error(405, "method_not_allowed", "GET the outbox state here");
			return Response.json(await shop(env).outboxState());
		}
		return error(404, "not_found", "routes: POST /orders, GET /orders/{id}, GET /outbox, GET /health");
	},
} satisfies ExportedHandler<OrdersEnv>;
