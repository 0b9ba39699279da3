import { DurableObject } from "cloudflare:workers";
import type { AppEnv } from "../config";
import { AppError } from "../errors";
import { MINUTE_MS } from "../time";
import { topicClient } from "../topic/client";
import { NO_LISTENERS, type TailLease, type TailRecord } from "../topic/tail-events";
import { passes, readyEvent, type TailFilter, toWire } from "./wire";

/** Most clients one topic's tail holds at once; one more is a 429. */
export const MAX_TAIL_CLIENTS = 32;
/** How long a lease given to the partitions lasts. Long: a stale one costs one batch, answered "no listeners". */
export const TAIL_LEASE_MS = 60 * MINUTE_MS;
/** While clients stay connected, the hub renews the partitions' lease this often (its only wake-up when idle). */
export const TAIL_RENEW_EVERY_MS = 20 * MINUTE_MS;
/** After a renewal some partitions missed, how soon it is tried again. */
const RENEW_RETRY_MS = 10_000;
/** The close code a client gets when the topic is deleted (4000–4999 are the application's). */
export const CLOSE_TOPIC_DELETED = 4404;
/** The request header the Worker passes a validated connection in (never set by a client: the hub is not reachable from outside). */
export const CONNECT_HEADER = "x-sundial-tail";
const STATE_KEY = "hub";

/** A connection as the Worker validated it. */
export interface TailConnect {
	topic: string;
	filter: TailFilter;
	/** The subprotocol to answer (`sundial.tail.v1` when the client offered it), or null. */
	protocol: string | null;
}

/** What the hub keeps across hibernation (its synchronous KV). */
interface HubState {
	topic: string | null;
	partitions: number;
	lease: TailLease;
}

/** What each socket carries across hibernation. */
interface Attachment {
	filter: TailFilter;
	connectedAtMs: number;
}

const errorResponse = (error: AppError) => Response.json({ error: error.toBody() }, { status: error.status });

/**
 * One topic's live tail: holds its WebSocket clients with the hibernation API (an idle tail is
 * evicted from memory and costs nothing but a renewal every TAIL_RENEW_EVERY_MS), gives the
 * topic's partitions a lease while clients are connected, and passes the events they send to each
 * client its filter lets through. No client means no lease: the partitions forward nothing.
 */
export class TailHub extends DurableObject<AppEnv> {
	private state: HubState;
	/** Accepted sockets that have not had their `ready` yet: they get no events before it. */
	private readonly pending = new Set<WebSocket>();
	private readonly filters = new WeakMap<WebSocket, TailFilter>();

	constructor(ctx: DurableObjectState, env: AppEnv) {
		super(ctx, env);
		this.state = ctx.storage.kv.get<HubState>(STATE_KEY) ?? { topic: null, partitions: 0, lease: NO_LISTENERS };
		// Answered by the runtime without waking the hub.
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
	}

	/** Accepts a WebSocket the Worker validated (src/http/routes/tail.ts): the one thing `fetch` does. */
	override async fetch(request: Request): Promise<Response> {
		const connect = JSON.parse(request.headers.get(CONNECT_HEADER) ?? "null") as TailConnect | null;
		if (!connect) return errorResponse(new AppError(400, "invalid_request", "not a tail connection"));
		if (this.open().length >= MAX_TAIL_CLIENTS) {
			return errorResponse(
				new AppError(
					429,
					"too_many_tails",
					`topic "${connect.topic}" already has ${MAX_TAIL_CLIENTS} tail clients; close one and retry`,
				),
			);
		}
		const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
		this.ctx.acceptWebSocket(server);
		server.serializeAttachment({ filter: connect.filter, connectedAtMs: Date.now() } satisfies Attachment);
		this.pending.add(server);
		try {
			if (this.state.topic !== connect.topic) this.save({ ...this.state, topic: connect.topic });
			// The first client (or one after a long quiet spell) makes the partitions listen before `ready`.
			if (this.state.lease.untilMs - Date.now() < TAIL_LEASE_MS - TAIL_RENEW_EVERY_MS) await this.renew();
		} catch (error) {
			server.close(1011, "tail unavailable");
			if (error instanceof AppError) return errorResponse(error);
			throw error;
		} finally {
			this.pending.delete(server);
		}
		server.send(JSON.stringify(readyEvent(connect.topic, this.state.partitions, connect.filter, Date.now())));
		const headers = connect.protocol ? { "sec-websocket-protocol": connect.protocol } : undefined;
		return new Response(null, { status: 101, webSocket: client, headers });
	}

	/** A partition's batch of events: passed to every client that wants each. Answers the current lease. */
	async deliver(partition: number, events: TailRecord[]): Promise<TailLease> {
		const sockets = this.open().filter((ws) => !this.pending.has(ws));
		if (sockets.length === 0) {
			// Nobody to tell (the last client left, or the hub restarted): the partition stops. A decision
			// made now, so it wins over whatever lease the partition holds.
			this.save({ ...this.state, lease: this.nextLease(0) });
			return this.state.lease;
		}
		const topic = this.state.topic ?? "";
		for (const event of events) {
			let text: string | null = null;
			for (const ws of sockets) {
				if (!passes(this.filterOf(ws), event)) continue;
				text ??= JSON.stringify(toWire(topic, partition, event));
				try {
					ws.send(text);
				} catch {
					// Closing meanwhile: its close handler runs next.
				}
			}
		}
		if (events.some((e) => e.type === "topic_deleted")) await this.closeAll(CLOSE_TOPIC_DELETED, "topic deleted");
		return this.state.lease;
	}

	/** Clients send nothing that means anything (`ping` is answered by the runtime). */
	override async webSocketMessage(): Promise<void> {}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		try {
			ws.close(code, reason);
		} catch {
			// Already closed (the runtime answered the close itself).
		}
		await this.stopIfAlone(ws);
	}

	override async webSocketError(ws: WebSocket): Promise<void> {
		await this.stopIfAlone(ws);
	}

	/** Renews the partitions' lease while clients are connected; stops it when none are. */
	override async alarm(): Promise<void> {
		if (this.open().length === 0) return this.stop();
		try {
			await this.renew();
		} catch (error) {
			if (error instanceof AppError && error.code === "topic_not_found") {
				return this.closeAll(CLOSE_TOPIC_DELETED, "topic deleted");
			}
			console.error("sundial: tail renewal failed", error);
			await this.ctx.storage.setAlarm(Date.now() + RENEW_RETRY_MS);
		}
	}

	/** The lease every partition gets now: TAIL_LEASE_MS from now. Throws a 404 AppError when the topic is gone. */
	private async renew(): Promise<void> {
		const topic = this.state.topic;
		if (!topic) return;
		const lease = this.nextLease(Date.now() + TAIL_LEASE_MS);
		this.save({ ...this.state, lease });
		const result = await topicClient(this.env, topic).tail.listen(lease);
		this.save({ ...this.state, partitions: result.partitions });
		await this.ctx.storage.setAlarm(Date.now() + (result.failed > 0 ? RENEW_RETRY_MS : TAIL_RENEW_EVERY_MS));
	}

	/** No client left: the partitions are told at once (their lease would also run out by itself). */
	private async stop(): Promise<void> {
		await this.ctx.storage.deleteAlarm();
		const lease = this.nextLease(0);
		this.save({ ...this.state, lease });
		if (!this.state.topic) return;
		try {
			await topicClient(this.env, this.state.topic).tail.listen(lease);
		} catch {
			// The topic is gone, or a partition did not answer: its next batch is answered with this lease.
		}
	}

	private async stopIfAlone(gone: WebSocket): Promise<void> {
		if (this.open(gone).length === 0) await this.stop();
	}

	private async closeAll(code: number, reason: string): Promise<void> {
		for (const ws of this.open()) {
			try {
				ws.close(code, reason);
			} catch {
				// Closed meanwhile.
			}
		}
		await this.stop();
	}

	/** A lease decided now: its version is later than every earlier one, so partitions take the newest. */
	private nextLease(untilMs: number): TailLease {
		return { untilMs, version: Math.max(Date.now(), this.state.lease.version + 1) };
	}

	private save(state: HubState): void {
		this.state = state;
		this.ctx.storage.kv.put(STATE_KEY, state);
	}

	/** Open sockets, but `except`. */
	private open(except?: WebSocket): WebSocket[] {
		return this.ctx.getWebSockets().filter((ws) => ws !== except && ws.readyState === WebSocket.OPEN);
	}

	private filterOf(ws: WebSocket): TailFilter {
		let filter = this.filters.get(ws);
		if (!filter) {
			filter = (ws.deserializeAttachment() as Attachment | null)?.filter ?? { subscriptions: null, types: null };
			this.filters.set(ws, filter);
		}
		return filter;
	}
}
