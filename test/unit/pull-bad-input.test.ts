import { describe, expect, it } from "vitest";
import { api, json, topicWithWebhook, uniqueName } from "../helpers";
import { ack, delivery, extend, nack, publish, pullTopic, receive } from "../pull";

interface ErrorBody {
	error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

const routes = ["receive", "ack", "nack", "extend"] as const;
type Route = (typeof routes)[number];
/** A body each route accepts, so only the topic or subscription is at fault. */
const validBody: Record<Route, Record<string, unknown>> = {
	receive: { max: 1 },
	ack: { receipts: ["1.1.AAAAAAAAAAAAAAAAAAAAAA"] },
	nack: { receipts: ["1.1.AAAAAAAAAAAAAAAAAAAAAA"] },
	extend: { receipt: "1.1.AAAAAAAAAAAAAAAAAAAAAA", visibility_timeout: "10s" },
};
const call = (topic: string, sub: string, route: Route, body: unknown) =>
	json<ErrorBody>("POST", `/v1/topics/${topic}/subscriptions/${sub}/${route}`, body);

/** Expects a 400 whose issues name `field`. */
async function expect400(topic: string, route: Route, body: unknown, field: string) {
	const res = await call(topic, "p", route, body);
	expect({ body, status: res.status, code: res.body.error?.code }).toEqual({
		body,
		status: 400,
		code: "invalid_request",
	});
	expect(res.body.error.issues?.map((i) => i.path)).toContain(field);
}

/** A valid lease receipt with one character of it replaced. */
function flip(receipt: string, index: number): string {
	const i = index < 0 ? receipt.length + index : index;
	const c = receipt[i] as string;
	const other = c === "A" ? "B" : c === "0" ? "1" : c === "1" ? "2" : "A";
	return receipt.slice(0, i) + other + receipt.slice(i + 1);
}

describe("wrong subscription or topic", () => {
	it("answers 409 not_pull for every pull route on a webhook subscription", async () => {
		const topic = uniqueName("pb");
		await topicWithWebhook(topic, `/hook/${topic}`);
		for (const route of routes) {
			const res = await call(topic, "hook", route, validBody[route]);
			expect({ route, status: res.status, code: res.body.error?.code }).toEqual({
				route,
				status: 409,
				code: "not_pull",
			});
		}
	});

	it("answers 404 for an unknown subscription and for an unknown topic", async () => {
		const topic = uniqueName("pb");
		await pullTopic(topic);
		for (const route of routes) {
			const sub = await call(topic, "nope", route, validBody[route]);
			expect({ route, status: sub.status, code: sub.body.error?.code }).toEqual({
				route,
				status: 404,
				code: "subscription_not_found",
			});
			const t = await call(uniqueName("missing"), "p", route, validBody[route]);
			expect({ route, status: t.status, code: t.body.error?.code }).toEqual({
				route,
				status: 404,
				code: "topic_not_found",
			});
		}
	});
});

describe("out-of-range and unknown fields", () => {
	it("rejects max, wait and visibility_timeout out of range, naming the field", async () => {
		const topic = uniqueName("pb");
		await pullTopic(topic);
		await publish(topic, { id: "m", body: 1 });
		for (const max of [0, 101, 1.5, "5", -1]) await expect400(topic, "receive", { max }, "max");
		for (const wait of ["21s", -1, "-1s", "soon", 20.001]) await expect400(topic, "receive", { wait }, "wait");
		for (const visibility_timeout of ["0s", "13h", 0.5, "forever"]) {
			await expect400(topic, "receive", { visibility_timeout }, "visibility_timeout");
		}
		// None of those leased anything; the limits themselves are accepted.
		expect(await delivery(topic, "m")).toMatchObject({ state: "scheduled", attempts: 0 });
		const ok = await receive(topic, { max: 100, wait: "20s", visibility_timeout: "12h" });
		expect(ok.status).toBe(200);
		expect(ok.body.messages.map((m) => m.id)).toEqual(["m"]);
		const receipt = ok.body.messages[0]?.receipt as string;
		for (const visibility_timeout of ["0s", "13h"]) {
			await expect400(topic, "extend", { receipt, visibility_timeout }, "visibility_timeout");
		}
		await expect400(topic, "nack", { receipts: [receipt], delay: "13h" }, "delay");
		await expect400(topic, "nack", { receipts: [receipt], delay: -5 }, "delay");
		// The lease is untouched by the rejected calls.
		expect(await delivery(topic, "m")).toMatchObject({ state: "in_flight", attempts: 1, lease: 1 });
	});

	it("rejects an empty receipt list and more than 100 receipts", async () => {
		const topic = uniqueName("pb");
		await pullTopic(topic);
		const many = Array.from({ length: 101 }, (_, i) => `r${i}`);
		for (const route of ["ack", "nack"] as const) {
			await expect400(topic, route, { receipts: [] }, "receipts");
			await expect400(topic, route, { receipts: many }, "receipts");
			await expect400(topic, route, {}, "receipts");
			await expect400(topic, route, { receipts: "1.1.x" }, "receipts");
		}
		await expect400(topic, "extend", { visibility_timeout: "10s" }, "receipt");
		const hundred = await ack(topic, many.slice(0, 100));
		expect(hundred.status).toBe(200);
		expect(Object.values(hundred.body.results)).toEqual(Array(100).fill(false));
	});

	it("rejects unknown fields on every pull route", async () => {
		const topic = uniqueName("pb");
		await pullTopic(topic);
		for (const route of routes) await expect400(topic, route, { ...validBody[route], surprise: 1 }, "surprise");
		await expect400(topic, "receive", { max_messages: 5 }, "max_messages");
	});

	it("rejects webhook and queue fields on a pull subscription", async () => {
		const topic = uniqueName("pb");
		await api("PUT", `/v1/topics/${topic}`, {});
		const cases: [Record<string, unknown>, string][] = [
			[{ url: "https://example.com/hook" }, "url"],
			[{ timeout: "10s" }, "timeout"],
			[{ headers: { "x-a": "1" } }, "headers"],
			[{ queue: "EXAMPLE_QUEUE" }, "queue"],
			[{ visibility_timeout: "13h" }, "visibility_timeout"],
			[{ visibility_timeout: "0s" }, "visibility_timeout"],
		];
		for (const [extra, field] of cases) {
			const res = await json<ErrorBody>("PUT", `/v1/topics/${topic}/subscriptions/p`, { type: "pull", ...extra });
			expect({ extra, status: res.status }).toEqual({ extra, status: 400 });
			expect(res.body.error.issues?.map((i) => i.path)).toContain(field);
		}
		expect((await api("GET", `/v1/topics/${topic}/subscriptions/p`)).status).toBe(404);
	});
});

describe("forged and malformed receipts", () => {
	it("answer false per receipt with 200, never an error, and leave the real lease alone", async () => {
		const topic = uniqueName("pb");
		const other = uniqueName("pb");
		await pullTopic(topic);
		await pullTopic(other);
		await publish(topic, { id: "m", body: 1 });
		await publish(other, { id: "m", body: 1 });
		const [mine] = (await receive(topic)).body.messages;
		const [theirs] = (await receive(other)).body.messages;
		const receipt = mine?.receipt as string;
		const foreign = theirs?.receipt as string;
		// Same message row, subscription and lease number in both topics: only the key differs.
		expect(foreign.split(".").slice(0, 2)).toEqual(receipt.split(".").slice(0, 2));
		expect(foreign).not.toBe(receipt);
		const forged = [
			"",
			"abc",
			"..",
			flip(receipt, -1),
			flip(receipt, -10),
			flip(receipt, 0),
			`${receipt}x`,
			receipt.toUpperCase(),
			"zzzzzzzzzzz.zzzzzzzzzzz.AAAAAAAAAAAAAAAAAAAAAA",
			"1.1.AAAAAAAAAAAAAAAAAAAAAA",
			foreign,
			"x".repeat(200),
		];
		expect(new Set(forged).size).toBe(forged.length);
		expect(forged).not.toContain(receipt);

		const nacked = await nack(topic, forged, "0s");
		expect(nacked.status).toBe(200);
		expect(nacked.body.results).toEqual(Object.fromEntries(forged.map((r) => [r, false])));
		for (const r of forged) {
			const res = await extend(topic, r, "1h");
			expect({ r, status: res.status, extended: res.body.extended }).toEqual({ r, status: 200, extended: false });
		}
		expect(await delivery(topic, "m")).toMatchObject({ state: "in_flight", attempts: 1, lease: 1 });

		const acked = await ack(topic, [...forged, receipt]);
		expect(acked.status).toBe(200);
		expect(acked.body.results).toEqual({ ...Object.fromEntries(forged.map((r) => [r, false])), [receipt]: true });
		// The other topic's lease is still its own.
		expect(await delivery(other, "m")).toMatchObject({ state: "in_flight", attempts: 1 });
		expect((await ack(other, [receipt])).body.results).toEqual({ [receipt]: false });
		expect((await ack(other, [foreign])).body.results).toEqual({ [foreign]: true });
	});
});

describe("OpenAPI", () => {
	it("documents all four pull routes", async () => {
		const res = await api("GET", "/openapi.json");
		expect(res.status).toBe(200);
		const doc = (await res.json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
		for (const route of routes) {
			const op = doc.paths[`/v1/topics/{topic}/subscriptions/{name}/${route}`]?.post;
			expect({ route, documented: op !== undefined }).toEqual({ route, documented: true });
			expect(op?.tags).toContain("Pull consumers");
		}
	});
});
