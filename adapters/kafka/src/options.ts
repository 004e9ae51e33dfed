import { ConfigError, maskUrl } from "@omnibus/core";
import { parseBrokerUrl } from "@omnibus/core/adapter";
import type { KafkaConfig, SASLOptions } from "kafkajs";

/** Where the adapter reports kafkajs warnings and errors. Core's `Logger` fits. */
export interface KafkaLogger {
  /** A kafkajs warning (a retried request, a rebalance). */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A kafkajs error (a request that failed for good, a crashed consumer). */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link kafka}. */
export interface KafkaOptions {
  /**
   * Bootstrap brokers: `"host:port"` strings, or one `kafka://[user:pass@]host:port[,host:port…]`
   * URL (see {@link fromUrl} for its query parameters).
   * @default ["127.0.0.1:9092"]
   */
  brokers?: string | readonly string[];
  /**
   * kafkajs client id, shown in broker logs and quotas.
   * @default "omnibus"
   */
  clientId?: string;
  /**
   * TLS: `true` for the system's CAs, or Node `tls.connect` options.
   * @default false
   */
  ssl?: KafkaConfig["ssl"];
  /**
   * SASL authentication (`{ mechanism: "plain" | "scram-sha-256" | "scram-sha-512", username, password }`).
   * @default undefined (none)
   */
  sasl?: SASLOptions;
  /**
   * Partitions of every topic the adapter creates. Consumers of one queue or group can only run in
   * parallel up to this number; ordering by key holds within a partition.
   * @default 3
   */
  partitions?: number;
  /**
   * Replication factor of the topics the adapter creates (`-1` = the broker's default).
   * @default 1
   */
  replicationFactor?: number;
  /**
   * Prefix of the consumer group ids the adapter derives from queue and group names
   * (`<prefix>:queue:<queue>`, `<prefix>:topic:<topic>:<group>`).
   * @default "omnibus"
   */
  groupIdPrefix?: string;
  /**
   * How often settled offsets are committed. Also bounds how many settled messages are delivered
   * again after a crash.
   * @default 100
   */
  commitIntervalMs?: number;
  /**
   * Largest accepted body + headers in bytes. Keep it below the broker's `message.max.bytes`
   * (1 MiB by default) minus ~40 KiB for the record's own fields.
   * @default 1000000
   */
  maxMessageBytes?: number;
  /**
   * Largest `delayMs` accepted on send and nack. A delayed record holds its partition's commit
   * point until it is due, so keep this far below the topic's `retention.ms`.
   * @default 86400000 (one day)
   */
  maxDelayMs?: number;
  /**
   * Delayed records (send with `delayMs`, nack with a delay) one consumer holds in memory until
   * they are due; past this number it pauses the partition that has more of them.
   * @default 10000
   */
  maxScheduled?: number;
  /**
   * Bytes of messages waiting to be produced before `send` waits (back-pressure).
   * @default 16777216 (16 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Largest produce request. Concurrent sends are merged into requests up to this size.
   * @default 1000000
   */
  maxRequestBytes?: number;
  /**
   * How long a produce request that failed for a reason that may pass (connection lost or refused,
   * no partition leader, a timeout) is sent again, as it was, before the sends in it fail. The
   * broker recognises a request it wrote already, so it is never written twice.
   * @default 30000
   */
  deliveryTimeoutMs?: number;
  /**
   * Idempotent producer (no duplicates from producer retries). Requires acks from all in-sync
   * replicas, which the adapter always asks for.
   * @default true
   */
  idempotent?: boolean;
  /**
   * Consumer session timeout: a consumer that stops heartbeating for this long loses its partitions.
   * Must be within the broker's `group.min.session.timeout.ms`..`group.max.session.timeout.ms`.
   * @default 10000
   */
  sessionTimeoutMs?: number;
  /**
   * Consumer heartbeat interval; a rebalance is noticed within about this time.
   * @default 500
   */
  heartbeatIntervalMs?: number;
  /**
   * How long the group coordinator waits for members to rejoin during a rebalance; one that does
   * not is removed. So it is also how long a consumer joining a group waits for the partitions of
   * a member that died without leaving (its session has not timed out yet). Live members of this
   * adapter rejoin within about a heartbeat (they never block their batch handler).
   * @default 3000
   */
  rebalanceTimeoutMs?: number;
  /**
   * Longest a fetch waits at the broker for new records (also the idle heartbeat cadence).
   * @default 500
   */
  maxWaitTimeMs?: number;
  /**
   * Time to establish a connection.
   * @default 3000
   */
  connectionTimeoutMs?: number;
  /**
   * Attempts kafkajs makes (connect, admin, produce) before an operation fails. A produce request
   * that failed this way is then sent again by the adapter, until `deliveryTimeoutMs`.
   * @default 5
   */
  retries?: number;
  /**
   * Receives kafkajs warnings and errors (never info/debug).
   * @default the client's `logger` (`createClient({ logger })`); used alone, silent
   */
  logger?: KafkaLogger;
}

/** Options with every default applied. */
export interface ResolvedKafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: KafkaConfig["ssl"];
  readonly sasl: SASLOptions | undefined;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly groupIdPrefix: string;
  readonly commitIntervalMs: number;
  readonly maxMessageBytes: number;
  readonly maxDelayMs: number;
  readonly maxScheduled: number;
  readonly maxBufferedBytes: number;
  readonly maxRequestBytes: number;
  readonly deliveryTimeoutMs: number;
  readonly idempotent: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxWaitTimeMs: number;
  readonly connectionTimeoutMs: number;
  readonly retries: number | undefined;
  readonly logger: KafkaLogger | undefined;
}

const DEFAULT_PORT = 9092;

function int(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `kafka: option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return n;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigError(`kafka: option ${name} must be true or false, got ${String(value)}`);
}

function hostPort(entry: string, source: string): string {
  const trimmed = entry.trim();
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(trimmed);
  if (match === null) throw new ConfigError(`kafka: invalid broker address in ${maskUrl(source)}`);
  const port = match[2] === undefined ? DEFAULT_PORT : Number(match[2]);
  if (port < 1 || port > 65535) throw new ConfigError(`kafka: invalid port in ${maskUrl(source)}`);
  return `${match[1]}:${port}`;
}

/** What a `kafka://` URL says. */
export interface ParsedUrl {
  readonly brokers: string[];
  readonly options: Record<string, unknown>;
}

const URL_PARAMS: Record<string, keyof KafkaOptions | "mechanism"> = {
  clientId: "clientId",
  partitions: "partitions",
  replicationFactor: "replicationFactor",
  groupIdPrefix: "groupIdPrefix",
  ssl: "ssl",
  mechanism: "mechanism",
  commitIntervalMs: "commitIntervalMs",
  maxMessageBytes: "maxMessageBytes",
  maxDelayMs: "maxDelayMs",
  sessionTimeoutMs: "sessionTimeoutMs",
  heartbeatIntervalMs: "heartbeatIntervalMs",
  maxWaitTimeMs: "maxWaitTimeMs",
  idempotent: "idempotent",
  deliveryTimeoutMs: "deliveryTimeoutMs",
};

/**
 * Parse `kafka://[user:pass@]host[:port][,host[:port]…][/][?param=value…]` (`kafkas://` turns TLS
 * on). Credentials select SASL (`mechanism=plain|scram-sha-256|scram-sha-512`, default plain).
 */
export function parseKafkaUrl(url: string): ParsedUrl {
  const parsed = parseBrokerUrl(url, {
    schemes: ["kafka", "kafkas"],
    defaultPort: DEFAULT_PORT,
    multiHost: true,
    adapter: "kafka",
  });
  // No default host: a Kafka URL names its bootstrap brokers (core's parser would take 127.0.0.1).
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(url.trim())?.[1] ?? "";
  if (authority.slice(authority.lastIndexOf("@") + 1) === "")
    throw new ConfigError(`kafka: no broker in ${maskUrl(url)}`);
  if (parsed.path !== "") throw new ConfigError(`kafka: a Kafka URL has no path: ${maskUrl(url)}`);
  const scheme = parsed.scheme;
  const { username } = parsed;
  const password = parsed.password ?? "";
  const options: Record<string, unknown> = {};
  const brokers = parsed.hosts.map(({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`);
  let mechanism: string | undefined;
  for (const [key, value] of parsed.params) {
    const name = URL_PARAMS[key];
    if (name === undefined) throw new ConfigError(`kafka: unknown URL parameter "${key}" in ${maskUrl(url)}`);
    if (name === "mechanism") mechanism = value;
    else options[name] = value;
  }
  if (scheme === "kafkas") options.ssl = true;
  else if (options.ssl !== undefined) options.ssl = bool("ssl", options.ssl, false);
  if (username !== undefined) {
    const m = (mechanism ?? "plain").toLowerCase();
    if (m !== "plain" && m !== "scram-sha-256" && m !== "scram-sha-512") {
      throw new ConfigError(`kafka: unsupported SASL mechanism "${m}" in ${maskUrl(url)}`);
    }
    options.sasl = { mechanism: m, username, password };
  } else if (mechanism !== undefined) {
    throw new ConfigError(`kafka: mechanism given without credentials in ${maskUrl(url)}`);
  }
  return { brokers, options };
}

/** Apply defaults and check every option once. */
export function resolveOptions(options: KafkaOptions = {}): ResolvedKafkaOptions {
  let brokers: string[];
  let fromUrl: Record<string, unknown> = {};
  const given = options.brokers ?? ["127.0.0.1:9092"];
  if (typeof given === "string") {
    if (/^kafkas?:\/\//i.test(given)) {
      const parsed = parseKafkaUrl(given);
      brokers = parsed.brokers;
      fromUrl = parsed.options;
    } else {
      brokers = given.split(",").map((entry) => hostPort(entry, given));
    }
  } else if (Array.isArray(given) && given.length > 0) {
    brokers = given.map((entry) => {
      if (typeof entry !== "string") throw new ConfigError("kafka: brokers must be strings");
      return hostPort(entry, entry);
    });
  } else {
    throw new ConfigError("kafka: brokers must be a non-empty list of host:port");
  }
  const o: Record<string, unknown> = { ...fromUrl };
  for (const [key, value] of Object.entries(options))
    if (value !== undefined && key !== "brokers") o[key] = value;

  const clientId = o.clientId ?? "omnibus";
  if (typeof clientId !== "string" || clientId === "")
    throw new ConfigError("kafka: clientId must be a string");
  const groupIdPrefix = o.groupIdPrefix ?? "omnibus";
  if (typeof groupIdPrefix !== "string" || groupIdPrefix === "") {
    throw new ConfigError("kafka: groupIdPrefix must be a non-empty string");
  }
  const retries = o.retries === undefined ? undefined : int("retries", o.retries, 5, 0);
  if (retries === 0 && o.idempotent !== false && o.idempotent !== "false") {
    throw new ConfigError("kafka: retries 0 needs idempotent false (an idempotent producer must retry)");
  }
  const logger = o.logger as KafkaLogger | undefined;
  if (logger !== undefined && (typeof logger.warn !== "function" || typeof logger.error !== "function")) {
    throw new ConfigError("kafka: logger must have warn and error functions");
  }
  const sessionTimeoutMs = int("sessionTimeoutMs", o.sessionTimeoutMs, 10_000, 1);
  const heartbeatIntervalMs = int("heartbeatIntervalMs", o.heartbeatIntervalMs, 500, 1);
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new ConfigError("kafka: heartbeatIntervalMs must be lower than sessionTimeoutMs");
  }
  const maxMessageBytes = int("maxMessageBytes", o.maxMessageBytes, 1_000_000, 1);
  return {
    brokers,
    clientId,
    ssl: (o.ssl === undefined ? false : typeof o.ssl === "object" ? o.ssl : bool("ssl", o.ssl, false)) as
      | KafkaConfig["ssl"]
      | boolean,
    sasl: o.sasl as SASLOptions | undefined,
    partitions: int("partitions", o.partitions, 3, 1, 100_000),
    replicationFactor: int("replicationFactor", o.replicationFactor, 1, -1, 1000),
    groupIdPrefix,
    commitIntervalMs: int("commitIntervalMs", o.commitIntervalMs, 100, 1),
    maxMessageBytes,
    maxDelayMs: int("maxDelayMs", o.maxDelayMs, 86_400_000, 0),
    maxScheduled: int("maxScheduled", o.maxScheduled, 10_000, 1),
    maxBufferedBytes: int("maxBufferedBytes", o.maxBufferedBytes, 16 * 1024 * 1024, 1),
    maxRequestBytes: int("maxRequestBytes", o.maxRequestBytes, 1_000_000, 1),
    deliveryTimeoutMs: int("deliveryTimeoutMs", o.deliveryTimeoutMs, 30_000, 0),
    idempotent: bool("idempotent", o.idempotent, true),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: int("rebalanceTimeoutMs", o.rebalanceTimeoutMs, 3000, 1),
    maxWaitTimeMs: int("maxWaitTimeMs", o.maxWaitTimeMs, 500, 1),
    connectionTimeoutMs: int("connectionTimeoutMs", o.connectionTimeoutMs, 3000, 1),
    retries,
    logger,
  };
}
