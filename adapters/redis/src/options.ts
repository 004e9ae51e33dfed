import { ConfigError, type Logger, maskUrl } from "@omnibus/core";
import type { ClusterNode, ClusterOptions, RedisOptions as IORedisOptions } from "ioredis";
import type { RedisClient } from "./client.js";

/**
 * How the adapter trims streams. Whatever the policy, an entry that some group has not yet read, or
 * has read and not yet acknowledged, is never trimmed.
 *
 * - `"acked"`: every `trimIntervalMs`, each stream this client uses is trimmed (`XTRIM MINID`) up to
 *   the oldest entry any of its groups still needs. Memory stays proportional to the backlog;
 *   costs one small Lua call per stream per interval. Acknowledged history is gone.
 * - `"none"`: never trim. Streams keep every entry (useful for replay with `XRANGE`), and grow
 *   without bound: trim them yourself.
 * - `{ keepAcked: n }`: like `"acked"`, but keep up to the last `n` entries even when every group
 *   has acknowledged them (history for debugging and replay); entries still needed are kept however
 *   many there are.
 */
export type TrimPolicy = "acked" | "none" | { readonly keepAcked: number };

/** Options of {@link redis}. */
export interface RedisAdapterOptions {
  /**
   * `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. Ignored when `client` is given.
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /**
   * An ioredis client to use instead of creating one from `url`: a `Redis` (standalone or Sentinel)
   * or a `Cluster`. The adapter duplicates it for each consumer's blocking reads, and does not close
   * it on `close()`.
   * @default undefined (the adapter creates and owns its client)
   */
  client?: RedisClient;
  /**
   * Connect to a Redis Cluster: its startup nodes and ioredis `Cluster` options. The adapter
   * creates and owns the `Cluster` (instead of a client from `url`). Every key of one queue or topic
   * lives in one slot (hash tags), so every script and pipeline stays on one node.
   * @default undefined (a single server from `url`)
   */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /**
   * Extra ioredis options for the clients the adapter creates (TLS, timeouts, `retryStrategy`, …).
   * @default {}
   */
  redis?: IORedisOptions;
  /**
   * Prefix of every key the adapter writes: `<prefix>:{q:<queue>}:stream`,
   * `<prefix>:{t:<topic>}:stream`, … The `{…}` hash tag keeps all keys of one queue or topic in one
   * Redis Cluster slot.
   * @default "omnibus"
   */
  prefix?: string;
  /**
   * A message delivered to a consumer that has neither settled it nor renewed its lease for this
   * long is handed to another consumer of the group (`XAUTOCLAIM`), with `attempt + 1`. Live
   * consumers renew the lease of messages they are still handling, so a slow handler is not
   * duplicated; this only decides how fast a dead consumer's messages come back.
   * @default 30000
   */
  claimIdleMs?: number;
  /**
   * How often each consumer looks for messages left by dead consumers.
   * @default min(claimIdleMs / 2, 5000)
   */
  claimIntervalMs?: number;
  /**
   * How long one blocking `XREADGROUP` waits for messages before the consumer loop runs its
   * periodic work again. Bounded by `claimIntervalMs`.
   * @default min(claimIntervalMs, 2000)
   */
  blockMs?: number;
  /**
   * How often this client moves due delayed messages (delayed sends, delayed nacks) into the streams
   * it consumes, when it did not schedule them itself (messages it scheduled are promoted on time).
   * @default 250
   */
  delayPollMs?: number;
  /**
   * Stream trimming. See {@link TrimPolicy}.
   * @default "acked"
   */
  trim?: TrimPolicy;
  /**
   * How often streams are trimmed (when `trim` is not `"none"`).
   * @default 5000
   */
  trimIntervalMs?: number;
  /**
   * Largest message accepted by `send`, in bytes, measured as core measures it: the body plus the
   * UTF-8 bytes of every header name and value (the adapter's own fields — id, timestamp, key,
   * correlation id, reply-to, JSON framing of the headers — are not counted). Declared as
   * `features.maxMessageBytes`. At most 64 MiB, so that a message with its fields always fits in
   * one Redis argument (`proto-max-bulk-len`, 512 MB); large values block the server while they are
   * copied.
   * @default 16777216 (16 MiB)
   */
  maxMessageBytes?: number;
  /**
   * Largest number of messages in one `send` call (one pipelined round trip).
   * @default 1000
   */
  maxBatchSize?: number;
  /**
   * Back-pressure: at most this many messages of this client are on their way to Redis (sent and
   * not yet acknowledged by the server); further `send` calls wait.
   * @default 10000
   */
  maxInFlightSends?: number;
  /**
   * A `send` that Redis has not confirmed this long after it was called fails with a retryable
   * `PublishError` (whether its messages were stored is then unknown: at-least-once). Covers the
   * wait for back-pressure, for a reconnection (ioredis queues commands while it reconnects) and for
   * the reply, so no send waits without bound when Redis is unreachable or stalls.
   * @default 15000
   */
  sendTimeoutMs?: number;
  /**
   * Longest `connect()` (TCP, TLS, `AUTH`, ready check); also the ioredis `connectTimeout` unless
   * `redis.connectTimeout` is given. A failed `connect()` leaves nothing queued and rejects with a
   * `ConnectionError`; the next `connect()` or `send()` tries again.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * An ephemeral queue (request-reply inbox) expires this long after its client was last seen
   * alive, so a crashed client's inbox does not stay in Redis forever.
   * @default 300000
   */
  ephemeralTtlMs?: number;
  /**
   * Declare `features.persistent`. Redis keeps messages across a restart only with AOF
   * (`appendonly yes`, `appendfsync always` for no loss of acknowledged sends); set this to `true`
   * when your server is configured so.
   * @default false
   */
  persistent?: boolean;
  /**
   * Where the adapter reports background trouble (a consumer's read failing and being retried, a
   * lost acknowledgement, a failed trim or promotion). Passwords are never logged.
   * @default the client's `logger` (`createClient({ logger })`); used alone, `consoleLogger("warn")`
   */
  logger?: Logger;
}

/** Options after defaults: every field set. */
export interface ResolvedOptions {
  readonly url: string;
  readonly client: RedisClient | undefined;
  readonly cluster: { readonly nodes: ClusterNode[]; readonly options: ClusterOptions } | undefined;
  readonly redis: IORedisOptions;
  readonly prefix: string;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number;
  readonly blockMs: number;
  readonly delayPollMs: number;
  readonly trim: "acked" | "none";
  readonly keepAcked: number;
  readonly trimIntervalMs: number;
  readonly maxMessageBytes: number;
  readonly maxBatchSize: number;
  readonly maxInFlightSends: number;
  readonly sendTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly ephemeralTtlMs: number;
  readonly persistent: boolean;
  /** The `logger` option; without one the adapter logs through the client's logger (`useLogger`). */
  readonly logger: Logger | undefined;
}

export const DEFAULT_URL = "redis://127.0.0.1:6379";

/**
 * Largest `maxMessageBytes`: with the adapter's own fields and the JSON of the headers (up to six
 * characters per byte for control characters), a message must stay below Redis's 512 MB limit on
 * one argument.
 */
export const MAX_MESSAGE_BYTES_LIMIT = 64 * 1024 * 1024;

function positive(
  name: string,
  value: unknown,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(
      `redis: option ${name} must be a number >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ""}, got ${String(value)}`,
    );
  }
  return Math.floor(value);
}

/** Validate options and fill in defaults. Throws `ConfigError`. */
export function resolveOptions(options: RedisAdapterOptions = {}): ResolvedOptions {
  const url = options.url ?? DEFAULT_URL;
  if (options.client === undefined && options.cluster === undefined) checkUrl(url);
  if (
    options.cluster !== undefined &&
    (!Array.isArray(options.cluster.nodes) || options.cluster.nodes.length === 0)
  ) {
    throw new ConfigError("redis: cluster.nodes must list at least one node");
  }
  const prefix = options.prefix ?? "omnibus";
  if (typeof prefix !== "string" || prefix === "" || /[{}\s]/.test(prefix)) {
    throw new ConfigError(`redis: prefix must be a non-empty string without braces or spaces`);
  }
  const claimIdleMs = positive("claimIdleMs", options.claimIdleMs, 30_000, 10);
  const claimIntervalMs = positive(
    "claimIntervalMs",
    options.claimIntervalMs,
    Math.max(5, Math.min(Math.floor(claimIdleMs / 2), 5000)),
    5,
  );
  const blockMs = Math.min(
    positive("blockMs", options.blockMs, Math.min(claimIntervalMs, 2000), 5),
    claimIntervalMs,
  );
  const trim = options.trim ?? "acked";
  let keepAcked = 0;
  let trimMode: "acked" | "none";
  if (trim === "acked" || trim === "none") trimMode = trim;
  else if (typeof trim === "object" && trim !== null) {
    trimMode = "acked";
    keepAcked = positive("trim.keepAcked", trim.keepAcked, 0, 0);
  } else throw new ConfigError(`redis: trim must be "acked", "none" or { keepAcked }`);
  return {
    url,
    client: options.client,
    cluster: options.cluster
      ? { nodes: options.cluster.nodes, options: options.cluster.options ?? {} }
      : undefined,
    redis: options.redis ?? {},
    prefix,
    claimIdleMs,
    claimIntervalMs,
    blockMs,
    delayPollMs: positive("delayPollMs", options.delayPollMs, 250, 5),
    trim: trimMode,
    keepAcked,
    trimIntervalMs: positive("trimIntervalMs", options.trimIntervalMs, 5000, 10),
    maxMessageBytes: positive(
      "maxMessageBytes",
      options.maxMessageBytes,
      16 * 1024 * 1024,
      1,
      MAX_MESSAGE_BYTES_LIMIT,
    ),
    maxBatchSize: positive("maxBatchSize", options.maxBatchSize, 1000),
    maxInFlightSends: positive("maxInFlightSends", options.maxInFlightSends, 10_000),
    sendTimeoutMs: positive("sendTimeoutMs", options.sendTimeoutMs, 15_000, 10),
    connectTimeoutMs: positive("connectTimeoutMs", options.connectTimeoutMs, 10_000, 10),
    ephemeralTtlMs: positive("ephemeralTtlMs", options.ephemeralTtlMs, 300_000, 1000),
    persistent: options.persistent ?? false,
    logger: options.logger,
  };
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ConfigError(`redis: invalid URL ${maskUrl(url)}`, { cause });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ConfigError(`redis: URL must start with redis:// or rediss://, got ${maskUrl(url)}`);
  }
  // ioredis sends SELECT with whatever the path holds (SELECT NaN for /notadb), and the server's
  // error then comes back unhandled: the database index is checked here instead.
  const db = parsed.pathname.replace(/^\/+/, "");
  const dbParam = parsed.searchParams.get("db");
  for (const value of dbParam === null ? [db] : [db, dbParam]) {
    if (value !== "" && !/^\d{1,9}$/.test(value)) {
      throw new ConfigError(
        `redis: invalid URL ${maskUrl(url)}: the database must be a number (redis://host:port/<db>), got ${JSON.stringify(value)}`,
      );
    }
  }
}

/** Query parameters of a `fromUrl` URL that are adapter options rather than ioredis options. */
const NUMERIC_PARAMS = [
  "claimIdleMs",
  "claimIntervalMs",
  "blockMs",
  "delayPollMs",
  "trimIntervalMs",
  "maxMessageBytes",
  "maxBatchSize",
  "maxInFlightSends",
  "sendTimeoutMs",
  "connectTimeoutMs",
  "ephemeralTtlMs",
] as const;

/**
 * Split a URL into adapter options (from `?claimIdleMs=…&prefix=…&trim=…&persistent=true`) and the
 * URL ioredis gets (with those parameters removed).
 */
export function optionsFromUrl(url: string, extra: Record<string, unknown> = {}): RedisAdapterOptions {
  checkUrl(url);
  const parsed = new URL(url);
  const options: Record<string, unknown> = {};
  for (const name of NUMERIC_PARAMS) {
    const value = parsed.searchParams.get(name);
    if (value === null) continue;
    const n = Number(value);
    if (value === "" || !Number.isFinite(n)) {
      throw new ConfigError(`redis: URL parameter ${name} must be a number, in ${maskUrl(url)}`);
    }
    options[name] = n;
    parsed.searchParams.delete(name);
  }
  const prefix = parsed.searchParams.get("prefix");
  if (prefix !== null) {
    options.prefix = prefix;
    parsed.searchParams.delete("prefix");
  }
  const trim = parsed.searchParams.get("trim");
  if (trim !== null) {
    options.trim = /^\d+$/.test(trim) ? { keepAcked: Number(trim) } : trim;
    parsed.searchParams.delete("trim");
  }
  const persistent = parsed.searchParams.get("persistent");
  if (persistent !== null) {
    options.persistent = persistent === "true" || persistent === "1";
    parsed.searchParams.delete("persistent");
  }
  return { ...options, ...extra, url: parsed.toString() } as RedisAdapterOptions;
}
