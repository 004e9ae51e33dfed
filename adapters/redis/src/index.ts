/**
 * `@omnibus/redis`: the Redis Streams adapter for `@omnibus/core`, and a Redis idempotency store.
 * @module
 */
import { type Adapter, registerAdapter } from "@omnibus/core";
import { RedisAdapter, type RedisNative } from "./adapter.js";
import { optionsFromUrl, type RedisAdapterOptions, resolveOptions } from "./options.js";

/**
 * The Redis Streams adapter. Queues and topics are streams with consumer groups; see the README for
 * the mapping, the features and what survives a restart.
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { redis } from "@omnibus/redis";
 * const bus = createClient({ adapter: redis({ url: "redis://127.0.0.1:6379" }) });
 * ```
 */
export function redis(options: RedisAdapterOptions = {}): Adapter<RedisNative> {
  return new RedisAdapter(resolveOptions(options));
}

/**
 * Build the adapter from a `redis://` or `rediss://` URL (core calls it for those schemes). Adapter
 * options may be given as query parameters (`?claimIdleMs=5000&prefix=app&trim=acked`); the rest
 * of the URL goes to ioredis.
 */
export function fromUrl(url: string, options?: Record<string, unknown>): Adapter<RedisNative> {
  return redis(optionsFromUrl(url, options));
}

export type { RedisNative } from "./adapter.js";
export type { RedisClient } from "./client.js";
export type { RedisNativeMessage } from "./consumer.js";
export type { RedisIdempotencyStore, RedisIdempotencyStoreOptions } from "./idempotency.js";
export { redisIdempotencyStore } from "./idempotency.js";
export type { RedisAdapterOptions, TrimPolicy } from "./options.js";

// Importing the package makes its URLs checked at createClient (core loads it lazily too).
registerAdapter(["redis", "rediss"], { fromUrl });
