import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { ConfigError, maskUrl } from "@omnibus/core";

/**
 * Options of {@link nats}. Every field is optional; `nats()` fills in the defaults.
 */
export interface NatsOptions {
  /**
   * Server URL: `nats://[user:password@|token@]host[:port][,host[:port]…][?name=…&tls=true]`.
   * Credentials apply to every server of the list.
   * @default "nats://127.0.0.1:4222"
   */
  url?: string;
  /**
   * Extra options for `connect()` of `@nats-io/transport-node` (TLS, authenticator, …). They
   * override what the URL says.
   * @default {}
   */
  connectionOptions?: Partial<NodeConnectionOptions>;
  /**
   * Storage of the streams the adapter creates. `"memory"` streams are lost when the server
   * restarts, so `features.persistent` is then `false`.
   * @default "file"
   */
  storage?: "file" | "memory";
  /**
   * Replicas of every stream the adapter creates (clustered JetStream only).
   * @default 1
   */
  replicas?: number;
  /**
   * The server redelivers a message this long after handing it out unless it was settled. The
   * adapter reports deliveries still being handled as in progress every third of this, so a
   * slow handler does not cause a duplicate.
   * @default 30000
   */
  ackWaitMs?: number;
  /**
   * Window in which the server drops a message whose id (`Nats-Msg-Id`) it already stored.
   * @default 120000
   */
  duplicateWindowMs?: number;
  /**
   * How long a topic stream keeps a message for groups that have not consumed it yet
   * (`max_age`); `0` keeps messages forever.
   * @default 604800000 (7 days)
   */
  topicMaxAgeMs?: number;
  /**
   * A send rejects with a `PublishError` when the server has not acknowledged a message within
   * this time, including time spent disconnected.
   * @default 10000
   */
  publishTimeoutMs?: number;
  /**
   * Most messages published and not yet acknowledged by the server, over all sends of this
   * adapter; further sends wait (back-pressure).
   * @default 4096
   */
  maxInFlight?: number;
  /**
   * How long one pull request waits on the server for messages before it is renewed.
   * @default 30000
   */
  pullExpiresMs?: number;
  /**
   * Prefix of every stream name the adapter creates (`<prefix>_Q_<queue>`, `<prefix>_T_<topic>`).
   * @default "OMNIBUS"
   */
  streamPrefix?: string;
  /**
   * First token of every subject the adapter uses (`<prefix>.q.<queue>`, `<prefix>.t.<topic>`).
   * @default "omnibus"
   */
  subjectPrefix?: string;
  /**
   * Connection name shown by the server's monitoring.
   * @default "omnibus"
   */
  name?: string;
}

/** {@link NatsOptions} with every default applied and the URL parsed. */
export interface ResolvedOptions {
  readonly url: string;
  readonly servers: string[];
  readonly connection: Partial<NodeConnectionOptions>;
  readonly storage: "file" | "memory";
  readonly replicas: number;
  readonly ackWaitMs: number;
  readonly duplicateWindowMs: number;
  readonly topicMaxAgeMs: number;
  readonly publishTimeoutMs: number;
  readonly maxInFlight: number;
  readonly pullExpiresMs: number;
  readonly streamPrefix: string;
  readonly subjectPrefix: string;
}

export const DEFAULT_URL = "nats://127.0.0.1:4222";

const KNOWN = new Set([
  "url",
  "connectionOptions",
  "storage",
  "replicas",
  "ackWaitMs",
  "duplicateWindowMs",
  "topicMaxAgeMs",
  "publishTimeoutMs",
  "maxInFlight",
  "pullExpiresMs",
  "streamPrefix",
  "subjectPrefix",
  "name",
]);

function int(options: NatsOptions, field: keyof NatsOptions, fallback: number, min: number): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`nats: ${field} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function prefix(options: NatsOptions, field: "streamPrefix" | "subjectPrefix", fallback: string): string {
  const value = options[field] ?? fallback;
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(value)) {
    throw new ConfigError(
      `nats: ${field} must be 1-32 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Parsed form of a `nats://` URL. */
export interface ParsedUrl {
  servers: string[];
  connection: Partial<NodeConnectionOptions>;
}

/** Parse a `nats://` URL (see {@link NatsOptions.url}); `ConfigError` when it is not one. */
export function parseUrl(url: string): ParsedUrl {
  const bad = (why: string) => new ConfigError(`nats: invalid URL ${JSON.stringify(maskUrl(url))}: ${why}`);
  if (typeof url !== "string") throw new ConfigError(`nats: url must be a string, got ${typeof url}`);
  const match = /^nats:\/\/([^?#]*)(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match) throw bad("expected nats://host[:port][,host[:port]…]");
  let rest = match[1]!;
  const connection: Partial<NodeConnectionOptions> = {};
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(":");
    try {
      if (colon >= 0) {
        connection.user = decodeURIComponent(credentials.slice(0, colon));
        connection.pass = decodeURIComponent(credentials.slice(colon + 1));
      } else if (credentials.length > 0) {
        connection.token = decodeURIComponent(credentials);
      }
    } catch {
      throw bad("credentials are not valid percent-encoding");
    }
  }
  const servers: string[] = [];
  for (const part of rest.split(",")) {
    // Each entry may repeat the scheme (nats://a:4222,nats://b:4222), as NATS's own URL lists do.
    const server = part
      .trim()
      .replace(/^nats:\/\//i, "")
      .replace(/\/$/, "");
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(server))
      throw bad(`bad server "${server}"`);
    const port = /:(\d+)$/.exec(server)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535))
      throw bad(`port ${port} of "${server}" is not within 1..65535`);
    servers.push(server);
  }
  const query = new URLSearchParams(match[2] ?? "");
  for (const [key, value] of query) {
    if (key === "name") connection.name = value;
    else if (key === "tls") {
      if (value === "true") connection.tls = {};
      else if (value !== "false") throw bad(`tls must be true or false`);
    } else throw bad(`unknown parameter "${key}" (known: name, tls)`);
  }
  return { servers, connection };
}

/** Validate `options` and fill in every default. */
export function resolveOptions(options: NatsOptions = {}): ResolvedOptions {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("nats: options must be an object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ConfigError(`nats: unknown option "${key}"`);
  }
  const url = options.url ?? DEFAULT_URL;
  const parsed = parseUrl(url);
  if (options.storage !== undefined && options.storage !== "file" && options.storage !== "memory") {
    throw new ConfigError(`nats: storage must be "file" or "memory", got ${JSON.stringify(options.storage)}`);
  }
  if (options.name !== undefined && typeof options.name !== "string") {
    throw new ConfigError("nats: name must be a string");
  }
  if (
    options.connectionOptions !== undefined &&
    (typeof options.connectionOptions !== "object" || options.connectionOptions === null)
  ) {
    throw new ConfigError("nats: connectionOptions must be an object");
  }
  const ackWaitMs = int(options, "ackWaitMs", 30_000, 1_000);
  return {
    url,
    servers: parsed.servers,
    connection: {
      name: "omnibus",
      ...parsed.connection,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...options.connectionOptions,
    },
    storage: options.storage ?? "file",
    replicas: int(options, "replicas", 1, 1),
    ackWaitMs,
    duplicateWindowMs: int(options, "duplicateWindowMs", 120_000, 100),
    topicMaxAgeMs: int(options, "topicMaxAgeMs", 7 * 24 * 3600_000, 0),
    publishTimeoutMs: int(options, "publishTimeoutMs", 10_000, 100),
    maxInFlight: int(options, "maxInFlight", 4096, 1),
    pullExpiresMs: int(options, "pullExpiresMs", 30_000, 1_000),
    streamPrefix: prefix(options, "streamPrefix", "OMNIBUS"),
    subjectPrefix: prefix(options, "subjectPrefix", "omnibus"),
  };
}
