import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { partitionOf } from "../../src/topic/client/routing.js";
import type { Receiver } from "../support/receiver.js";
import { useSundial } from "./fixture.js";
import { addWebhook, type Sundial } from "./lib.js";

const TOPIC = "tailed";
const PATH = "/tailed";
const PARTITIONS = 4;

type TailEvent = Record<string, unknown> & { type: string; message_id: string | null };

/** A Node WebSocket client of the tail (Node 22's global WebSocket, i.e. undici's). */
interface Client {
	ws: WebSocket;
	events: TailEvent[];
	until(done: (events: TailEvent[]) => boolean, timeoutMs?: number): Promise<TailEvent[]>;
}

/**
 * Connects like a CLI would (a bearer header) or like a browser (the token as a subprotocol). Node's
 * WebSocket takes `{headers, protocols}` as its second argument (undici's WebSocketInit), which the
 * DOM typings do not know.
 */
function connect(url: string, init: { headers?: Record<string, string>; protocols?: string[] }): Client {
	const ws = new WebSocket(url, init as unknown as string[]);
	const events: TailEvent[] = [];
	const checks = new Set<() => void>();
	ws.addEventListener("message", (m) => {
		events.push(JSON.parse(String(m.data)) as TailEvent);
		for (const check of [...checks]) check();
	});
	return {
		ws,
		events,
		until: (done, timeoutMs = 20_000) =>
			new Promise((resolve, reject) => {
				const check = () => {
					if (!done(events)) return;
					checks.delete(check);
					clearTimeout(timer);
					resolve(events);
				};
				const timer = setTimeout(() => {
					checks.delete(check);
					reject(new Error(`tail: not seen; got ${JSON.stringify(events.map((e) => [e.type, e.message_id]))}`));
				}, timeoutMs);
				checks.add(check);
				check();
			}),
	};
}

/** A raw WebSocket handshake: its status, and the error code of a refusal. */
function handshake(url: string, headers: Record<string, string>): Promise<{ status: number; code?: string }> {
	return new Promise((resolve, reject) => {
		const req = request(url, {
			headers: {
				...headers,
				connection: "Upgrade",
				upgrade: "websocket",
				"sec-websocket-version": "13",
				"sec-websocket-key": randomBytes(16).toString("base64"),
			},
		});
		req.on("upgrade", (res, socket) => {
			socket.destroy();
			resolve({ status: res.statusCode ?? 0 });
		});
		req.on("response", async (res) => {
			let text = "";
			for await (const chunk of res) text += chunk;
			resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error: { code: string } }).error.code });
		});
		req.on("error", reject);
		req.end();
	});
}

const closed = (ws: WebSocket) =>
	new Promise<number>((resolve) => {
		if (ws.readyState === WebSocket.CLOSED) resolve(1000);
		else ws.addEventListener("close", (e) => resolve(e.code));
	});

describe("the live tail, end to end (wrangler dev, a Node WebSocket client, a real receiver)", () => {
	let sundial: Sundial;
	let receiver: Receiver;
	let tailUrl: string;

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
		const created = await sundial.api("PUT", `/v1/topics/${TOPIC}`, { partitions: PARTITIONS });
		if (created.status !== 201) throw new Error(`PUT topic: ${JSON.stringify(created.body)}`);
		await addWebhook(sundial, TOPIC, "hook", `${receiver.url}${PATH}`);
		tailUrl = `${sundial.worker.url.replace(/^http/, "ws")}/v1/topics/${TOPIC}/tail`;
	});

	it("shows a delivery live: published, attempt started and ended, delivered, as the receiver gets it", async () => {
		const cli = connect(tailUrl, { headers: { authorization: `Bearer ${sundial.token}` } });
		const browser = connect(`${tailUrl}?types=delivered`, {
			protocols: ["sundial.tail.v1", `sundial.auth.${Buffer.from(sundial.token).toString("base64url")}`],
		});
		await cli.until((e) => e[0]?.type === "ready");
		await browser.until((e) => e[0]?.type === "ready");
		expect(browser.ws.protocol).toBe("sundial.tail.v1");
		expect(cli.events[0]).toMatchObject({ type: "ready", topic: TOPIC, partitions: PARTITIONS });

		const ids = ["live-1", "live-2", "live-3", "live-4", "live-5"];
		const res = await sundial.api<{ results: { id: string; deliver_at: string }[] }>(
			"POST",
			`/v1/topics/${TOPIC}/messages/batch`,
			ids.map((id) => ({ id, body: { id }, delay: "1s" })),
		);
		expect(res.status).toBe(200);
		const dueAt = new Map(res.body.results.map((r) => [r.id, r.deliver_at]));
		const seen = await cli.until((all) =>
			ids.every((id) => all.some((e) => e.type === "delivered" && e.message_id === id)),
		);
		for (const id of ids) {
			const mine = seen.filter((e) => e.message_id === id);
			expect(mine.map((e) => e.type)).toEqual(["published", "attempt_started", "attempt_ended", "delivered"]);
			expect(mine.every((e) => e.partition === partitionOf(id, PARTITIONS) && e.topic === TOPIC)).toBe(true);
			expect(mine[0]).toMatchObject({ deliver_at: dueAt.get(id) });
			expect(mine[1]).toMatchObject({ subscription: "hook", attempt: 1, due_at: dueAt.get(id) });
			// Never early: the attempt started at or after its due time.
			expect(mine[1]?.lateness_ms as number).toBeGreaterThanOrEqual(0);
			expect(mine[2]).toMatchObject({ outcome: "delivered", status: 200, error: null });
			// The receiver got it by the time the tail says delivered.
			expect(receiver.received.some((r) => r.path === PATH && r.headers["webhook-id"] === id)).toBe(true);
		}
		await browser.until((all) => all.filter((e) => e.type === "delivered").length === ids.length);
		expect(new Set(browser.events.map((e) => e.type))).toEqual(new Set(["ready", "delivered"]));
		expect(JSON.stringify(seen)).not.toContain('"body"');

		cli.ws.close(1000, "done");
		browser.ws.close(1000, "done");
		await Promise.all([closed(cli.ws), closed(browser.ws)]);
	});

	it("refuses what is not a tail before any upgrade: 426, an unknown topic, no token", async () => {
		const http = tailUrl.replace(/^ws/, "http");
		const plain = await fetch(http, { headers: { authorization: `Bearer ${sundial.token}` } });
		expect(plain.status).toBe(426);
		expect(((await plain.json()) as { error: { code: string } }).error.code).toBe("upgrade_required");

		const auth = { authorization: `Bearer ${sundial.token}` };
		expect(await handshake(http.replace(TOPIC, "no-such-topic"), auth)).toMatchObject({
			status: 404,
			code: "topic_not_found",
		});
		expect(await handshake(http, {})).toMatchObject({ status: 401, code: "unauthorized" });
		expect(await handshake(`${http}?types=nope`, auth)).toMatchObject({ status: 400, code: "invalid_request" });
		expect(await handshake(http, auth)).toMatchObject({ status: 101 });

		// A WebSocket client sees the failed handshake as an error, never a message.
		const noToken = connect(tailUrl, {});
		await new Promise((resolve) => noToken.ws.addEventListener("error", resolve));
		expect(noToken.events).toEqual([]);
	});
});
