import { createBunRedisClient, RedisConnection } from "bullmq";
import { RespClient } from "./resp.ts";

/**
 * Makes every BullMQ connection of this process use bench/resp.ts through BullMQ's own Bun-client
 * adapter (BullMQ's default driver, ioredis, is an optional peer dependency this repo does not install).
 * Call once before creating a Queue or Worker; then pass `{ host, port }` as their `connection`.
 */
export function useRespClient(): void {
	RedisConnection.clientFactory = (opts) =>
		createBunRedisClient(new RespClient(String(opts.host ?? "127.0.0.1"), Number(opts.port ?? 6379)));
}

/** Connection options for a Redis on 127.0.0.1:`port`. */
export function redisAt(port: number): { host: string; port: number } {
	return { host: "127.0.0.1", port };
}
