import { randomUUID } from "node:crypto";
import type { ClaimResult, IdempotencyStore } from "@omnibus/core";
import { ConfigError, ConnectionError, maskUrl } from "@omnibus/core";
import { type RedisOptions as IORedisOptions, Redis } from "ioredis";
import type { RedisClient } from "./client.js";
import { installScripts, runScript, type ScriptName } from "./commands.js";
import { clientSecrets, Scrubber, urlSecret } from "./errors.js";
import { DEFAULT_URL } from "./options.js";

/** Options of {@link redisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  /**
   * An ioredis client to use (for example the adapter's `native.client`). Not closed by the store.
   * @default undefined (a client is created from `url`)
   */
  client?: RedisClient;
  /**
   * Where Redis is, when no `client` is given.
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /**
   * Extra ioredis options for a client created from `url`.
   * @default {}
   */
  redis?: IORedisOptions;
  /**
   * Prefix of the keys: `<prefix><message key>`.
   * @default "omnibus:idem:"
   */
  prefix?: string;
}

/** The Redis idempotency store, with a `close()` for a client it created itself. */
export interface RedisIdempotencyStore extends IdempotencyStore {
  /** Always implemented here: the middleware keeps a slow handler's claim alive. */
  extend(key: string, token: string, lockMs: number): Promise<boolean>;
  /** Close the store's own client (no-op when it was given one). */
  close(): Promise<void>;
  /** {@link RedisIdempotencyStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Value of a key whose message was handled. Tokens are UUIDs, so they never equal it. */
const DONE = "omnibus:done";

/**
 * An idempotency store on Redis, shared by every process that consumes the same messages. Each
 * operation is one atomic command or script:
 *
 * - `claim`: `SET key <token> NX PX lockMs`; if the key exists, `"done"` when it holds the done
 *   marker, else `"in-progress"` (another holder's lock, until it expires);
 * - `complete`: if the key still holds our token (or nothing: our lock expired and nobody claimed
 *   it since), replace it with the done marker for `ttlMs`;
 * - `release`: if the key still holds our token, delete it;
 * - `extend`: if the key still holds our token, push its expiry to `lockMs` from now (the
 *   middleware calls it while a handler runs).
 *
 * @example
 * ```ts
 * import { createClient, idempotency } from "@omnibus/core";
 * import { redisIdempotencyStore } from "@omnibus/redis";
 * const store = redisIdempotencyStore({ url: "redis://127.0.0.1:6379" });
 * const bus = createClient({ url, use: [idempotency({ store })] });
 * ```
 */
export function redisIdempotencyStore(options: RedisIdempotencyStoreOptions = {}): RedisIdempotencyStore {
  const prefix = options.prefix ?? "omnibus:idem:";
  let client: RedisClient;
  let owns = false;
  if (options.client) client = options.client;
  else {
    const url = options.url ?? DEFAULT_URL;
    if (!/^rediss?:\/\//.test(url)) {
      throw new ConfigError(
        `redisIdempotencyStore: URL must start with redis:// or rediss://, got ${maskUrl(url)}`,
      );
    }
    client = new Redis(url, { ...options.redis, lazyConnect: true });
    client.on("error", () => {});
    owns = true;
  }
  installScripts(client);
  const scrub = new Scrubber([urlSecret(options.client ? undefined : options.url), ...clientSecrets(client)]);
  const run = async (what: ScriptName, key: string, args: (string | number)[]): Promise<number> => {
    try {
      return (await runScript(client, what, [prefix + key], args)) as number;
    } catch (cause) {
      throw new ConnectionError(`redis idempotency store: ${what} failed: ${scrub.message(cause)}`, {
        cause: scrub.cause(cause),
      });
    }
  };
  const close = async () => {
    if (owns && client.status !== "end" && client.status !== "wait") await client.quit().catch(() => {});
  };
  return {
    async claim(key, lockMs): Promise<ClaimResult> {
      const token = randomUUID();
      const result = await run("omnibusIdemClaim", key, [token, Math.max(1, Math.ceil(lockMs)), DONE]);
      if (result === 1) return { status: "claimed", token };
      return result === 2 ? { status: "done" } : { status: "in-progress" };
    },
    async complete(key, token, ttlMs) {
      await run("omnibusIdemComplete", key, [token, Math.max(1, Math.ceil(ttlMs)), DONE]);
    },
    async release(key, token) {
      await run("omnibusIdemRelease", key, [token]);
    },
    async extend(key, token, lockMs) {
      return (await run("omnibusIdemExtend", key, [token, Math.max(1, Math.ceil(lockMs))])) === 1;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
