import { connect, type Socket } from "node:net";

/**
 * A minimal Redis client (RESP2 over one TCP connection, implicit pipelining).
 *
 * BullMQ 6 has no driver of its own: it needs ioredis or node-redis (optional peer dependencies,
 * not installed here) or Bun's built-in client. This class has the surface BullMQ's Bun adapter
 * (`createBunRedisClient`) drives — `send`, `connected`, `connect`, `close`, `duplicate` and the
 * `onconnect`/`onclose` callbacks — so the bench runs BullMQ's own adapter code on top of it.
 * Commands issued in the same tick are written in one socket write (as ioredis does).
 */

export type RespValue = string | number | null | Error | RespValue[];
type Arg = string | number | Buffer;

/** Raised when a reply is not complete in the buffer yet. */
const INCOMPLETE = Symbol("incomplete");
const CRLF = Buffer.from("\r\n");

interface Pending {
	resolve: (v: RespValue) => void;
	reject: (e: Error) => void;
}

export class RespClient {
	connected = false;
	onconnect: (() => void) | undefined;
	onclose: ((error?: Error) => void) | undefined;
	onerror: ((error: Error) => void) | undefined;
	readonly host: string;
	readonly port: number;
	private socket: Socket | undefined;
	private pending: Pending[] = [];
	private head = 0;
	private out: Buffer[] = [];
	private flushQueued = false;
	private buf: Buffer = Buffer.alloc(0);
	private pos = 0;

	constructor(host: string, port: number) {
		this.host = host;
		this.port = port;
	}

	connect(): Promise<void> {
		return new Promise((resolve, reject) => {
			const socket = connect({ host: this.host, port: this.port, noDelay: true });
			this.socket = socket;
			socket.once("connect", () => {
				this.connected = true;
				this.onconnect?.();
				resolve();
			});
			socket.on("data", (chunk: Buffer) => this.onData(chunk));
			socket.on("error", (err) => {
				if (!this.connected) reject(err);
				this.onerror?.(err);
			});
			socket.on("close", () => {
				const wasConnected = this.connected;
				this.connected = false;
				this.failAll(new Error("Connection closed"));
				if (wasConnected) this.onclose?.();
			});
		});
	}

	/** Sends one command; resolves with its reply, rejects with a Redis error reply. */
	send<T = RespValue>(command: string, args: readonly Arg[] = []): Promise<T> {
		if (!this.socket || !this.connected) return Promise.reject(new Error("Connection closed"));
		this.out.push(encode(command, args));
		if (!this.flushQueued) {
			this.flushQueued = true;
			process.nextTick(() => this.flush());
		}
		return new Promise<RespValue>((resolve, reject) => {
			this.pending.push({ resolve, reject });
		}) as Promise<T>;
	}

	// The three typed helpers BullMQ's Bun adapter declares on its raw client.
	get(key: string): Promise<string | null> {
		return this.send("GET", [key]);
	}

	smembers(key: string): Promise<string[]> {
		return this.send("SMEMBERS", [key]);
	}

	incr(key: string): Promise<number> {
		return this.send("INCR", [key]);
	}

	close(): void {
		this.connected = false;
		this.socket?.destroy();
	}

	disconnect(): void {
		this.close();
	}

	async duplicate(): Promise<RespClient> {
		return new RespClient(this.host, this.port);
	}

	private flush(): void {
		this.flushQueued = false;
		if (this.out.length === 0 || !this.socket) return;
		const data = this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out);
		this.out = [];
		this.socket.write(data);
	}

	private failAll(err: Error): void {
		const waiting = this.pending.slice(this.head);
		this.pending = [];
		this.head = 0;
		for (const p of waiting) p.reject(err);
	}

	private onData(chunk: Buffer): void {
		this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
		this.pos = 0;
		for (;;) {
			if (this.pos >= this.buf.length) break;
			const start = this.pos;
			let value: RespValue;
			try {
				value = this.parse();
			} catch (e) {
				if (e !== INCOMPLETE) throw e;
				this.pos = start;
				break;
			}
			const p = this.pending[this.head++];
			if (this.head > 1024 && this.head * 2 > this.pending.length) {
				this.pending = this.pending.slice(this.head);
				this.head = 0;
			}
			if (!p) continue;
			if (value instanceof Error) p.reject(value);
			else p.resolve(value);
		}
	}

	private line(): string {
		const end = this.buf.indexOf(CRLF, this.pos);
		if (end < 0) throw INCOMPLETE;
		const text = this.buf.toString("utf8", this.pos + 1, end);
		this.pos = end + 2;
		return text;
	}

	private parse(): RespValue {
		if (this.pos >= this.buf.length) throw INCOMPLETE;
		const type = this.buf[this.pos];
		const text = this.line();
		switch (type) {
			case 0x2b: // +
				return text;
			case 0x2d: // -
				return new Error(text);
			case 0x3a: // :
				return Number(text);
			case 0x24: {
				// $
				const len = Number(text);
				if (len < 0) return null;
				if (this.pos + len + 2 > this.buf.length) throw INCOMPLETE;
				const s = this.buf.toString("utf8", this.pos, this.pos + len);
				this.pos += len + 2;
				return s;
			}
			case 0x2a: {
				// *
				const n = Number(text);
				if (n < 0) return null;
				const items: RespValue[] = new Array(n);
				for (let i = 0; i < n; i++) items[i] = this.parse();
				return items;
			}
			default:
				throw new Error(`RESP: unexpected reply type ${String.fromCharCode(type ?? 0)}`);
		}
	}
}

function encode(command: string, args: readonly Arg[]): Buffer {
	const parts: Buffer[] = [Buffer.from(`*${args.length + 1}\r\n$${Buffer.byteLength(command)}\r\n${command}\r\n`)];
	let text = "";
	for (const a of args) {
		if (Buffer.isBuffer(a)) {
			if (text) parts.push(Buffer.from(text));
			text = "";
			parts.push(Buffer.from(`$${a.length}\r\n`), a, CRLF);
		} else {
			const s = String(a);
			text += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
		}
	}
	if (text) parts.push(Buffer.from(text));
	return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}
