import { ConfigError, maskUrl } from "@omnibus/core";

/** Queue types this adapter declares. */
export type QueueType = "quorum" | "classic";

/** Reconnection after a lost connection. */
export interface ReconnectOptions {
  /**
   * First wait before reconnecting; doubles on every failed attempt.
   * @default 100
   */
  readonly initialDelayMs?: number;
  /**
   * Longest wait between two attempts. A refused connection is cheap, and a longer wait is how
   * long consumers stay idle after the broker is back (5 s measured 6.6 s to the first delivery
   * after a SIGKILL; 1 s keeps it near the broker's own start).
   * @default 1000
   */
  readonly maxDelayMs?: number;
  /**
   * Give up after this long without a connection: consumers then fail through their `onError`,
   * and the next send starts over with a fresh connect.
   * @default Infinity
   */
  readonly giveUpAfterMs?: number;
}

/**
 * Options of {@link rabbitmq}.
 *
 * @example
 * ```ts
 * const adapter = rabbitmq({ url: "amqp://guest:guest@127.0.0.1:5672" });
 * ```
 */
export interface RabbitMQOptions {
  /**
   * `amqp://user:password@host:port/vhost?heartbeat=30&frameMax=131072` (or `amqps://`). The
   * password is never written into an error or log. A cluster's nodes are listed with commas,
   * either as hosts (`amqp://u:p@h1:5672,h2:5672/vhost`) or as whole URLs
   * (`amqp://u:p@h1:5672,amqp://u:p@h2:5672`): a connection goes to the first that answers,
   * and a reconnect tries the node after the one that was lost first.
   * @default "amqp://guest:guest@127.0.0.1:5672"
   */
  readonly url?: string;
  /**
   * Type of the durable queues this adapter declares (queues, topic groups, dead-letter queues,
   * wait queues). `classic` keeps every confirmed message across a crash of a single node on
   * every supported RabbitMQ version, and is needed for priorities. `quorum` is replicated
   * (use it on clusters), counts redeliveries itself and dead-letters wait queues at-least-once,
   * but a quorum queue created moments before its node is killed (`kill -9`, power loss) comes
   * back empty on every RabbitMQ release up to 4.3 (see the README, "Queue type").
   * @default "classic"
   */
  readonly queueType?: QueueType;
  /**
   * Highest message priority. Above 0, queues are declared classic with `x-max-priority` (quorum
   * queues of RabbitMQ 3.10 have no priorities) and `features.priority` is true. Keep it small
   * (RabbitMQ keeps one sub-queue per level); at most 255.
   * @default 0
   */
  readonly maxPriority?: number;
  /**
   * Declare queues with `x-single-active-consumer`: one consumer of a queue or group receives
   * at a time (the others stand by), so messages are handled in send order and
   * `features.orderingByKey` is true.
   * @default false
   */
  readonly singleActiveConsumer?: boolean;
  /**
   * Largest message (body + header names and values, in bytes) a send accepts. RabbitMQ 3.10
   * refuses bodies above `max_message_size` (128 MiB by default); large messages hold up every
   * other message on the connection, so the default is lower.
   * @default 16777216 (16 MiB)
   */
  readonly maxMessageBytes?: number;
  /**
   * Most messages in one `send` call (core splits larger batches). All of them are published
   * at once and their confirms awaited together.
   * @default 1000
   */
  readonly maxBatchSize?: number;
  /**
   * Heartbeat interval in seconds, used when the URL has no `heartbeat` parameter. 0 disables
   * heartbeats (a dead peer is then only noticed by TCP).
   * @default 30
   */
  readonly heartbeatSeconds?: number;
  /**
   * Time allowed for the TCP + AMQP handshake.
   * @default 10000
   */
  readonly connectTimeoutMs?: number;
  /**
   * How long a send waits for the connection while the adapter reconnects before it fails with
   * a retryable `ConnectionError`.
   * @default 10000
   */
  readonly sendWaitMs?: number;
  /**
   * The longest a `send` takes, publisher confirms included: a send not confirmed by then fails
   * with a retryable `PublishError` (its messages may or may not have been stored), even when
   * the broker never answers. Keep it at or below core's `sendTimeoutMs`.
   * @default 30000
   */
  readonly sendTimeoutMs?: number;
  /**
   * The longest `consume()`, `ensureGroup()`, `deleteQueue()` and `connect()` wait, for the
   * connection while reconnecting and for the broker's answers, before they fail with a
   * retryable `ConnectionError`. Declarations of a send and consumers that resume after a
   * reconnect use the same bound for each broker call.
   * @default 15000
   */
  readonly operationTimeoutMs?: number;
  /**
   * The longest `close()` takes: it waits for copies being republished (nack, renumbering),
   * closes channels, deletes ephemeral queues and closes the connection within this, then drops
   * the socket. Keep it below core's `closeTimeoutMs`.
   * @default 5000
   */
  readonly closeTimeoutMs?: number;
  /**
   * Reconnection after the connection is lost; `false` to never reconnect (consumers then fail
   * at once through `onError`).
   * @default { initialDelayMs: 100, maxDelayMs: 1000, giveUpAfterMs: Infinity }
   */
  readonly reconnect?: ReconnectOptions | false;
  /**
   * Prefix of the exchanges and queues the adapter names itself (delay wait queues).
   * @default "omnibus"
   */
  readonly namespace?: string;
  /**
   * Name shown for the connection in the management UI and `rabbitmqctl list_connections`.
   * @default "omnibus"
   */
  readonly connectionName?: string;
  /**
   * Extra socket options for `amqplib.connect` (TLS `ca`, `cert`, `key`, `servername`…).
   * `noDelay` is always set: without it latency-bound loops wait on Nagle's algorithm.
   * @default {}
   */
  readonly socketOptions?: Readonly<Record<string, unknown>>;
}

/** {@link RabbitMQOptions} with every field resolved. */
export interface ResolvedOptions {
  /** The URL handed to amqplib (heartbeat added). Never print it: use {@link ResolvedOptions.safeUrl}. */
  readonly url: string;
  /** One URL per node listed in `url` (the first is {@link ResolvedOptions.url}). */
  readonly urls: readonly string[];
  readonly safeUrl: string;
  readonly queueType: QueueType;
  readonly maxPriority: number;
  readonly singleActiveConsumer: boolean;
  readonly maxMessageBytes: number;
  readonly maxBatchSize: number;
  readonly connectTimeoutMs: number;
  readonly sendWaitMs: number;
  readonly sendTimeoutMs: number;
  readonly operationTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly reconnect: Required<ReconnectOptions> | false;
  readonly namespace: string;
  readonly connectionName: string;
  readonly socketOptions: Readonly<Record<string, unknown>>;
}

/** The default URL: the local broker with the guest account. */
export const DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672";

/** Largest body RabbitMQ 3.10 accepts by default (`max_message_size`). */
export const BROKER_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

const NAMESPACE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,49}$/;

function int(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`rabbitmq: ${name} must be an integer within ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function duration(name: string, value: unknown, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  if (allowInfinity && value === Number.POSITIVE_INFINITY) return value;
  return int(name, value, fallback, 0);
}

/**
 * One URL per node of a cluster URL: `amqp://u:p@h1:1,h2:2/vh?q` (hosts sharing credentials,
 * vhost and query) or `amqp://u:p@h1:1,amqp://u:p@h2:2` (whole URLs); a plain URL as it is.
 */
export function splitHosts(url: string): string[] {
  return url.split(/,(?=\s*amqps?:\/\/)/i).flatMap((part) => {
    const match = /^(\s*amqps?:\/\/)((?:[^@/?#]*@)?)([^/?#]*)(.*)$/is.exec(part);
    if (!match || !match[3]!.includes(",")) return [part.trim()];
    return match[3]!.split(",").map((host) => `${match[1]!.trim()}${match[2]}${host.trim()}${match[4]}`);
  });
}

/** The integer URL parameters amqplib reads, with their largest values (AMQP 0-9-1 field sizes). */
const AMQP_URL_INTEGERS: Readonly<Record<string, number>> = {
  heartbeat: 65_535,
  channelMax: 65_535,
  frameMax: 4_294_967_295,
};

/** Check the URL and add the heartbeat parameter when the URL has none. */
export function resolveUrl(url: unknown, heartbeatSeconds: number): string {
  if (typeof url !== "string") throw new ConfigError(`rabbitmq: url must be a string, got ${typeof url}`);
  const match = /^(amqps?):\/\/([^/?#]*)/i.exec(url);
  if (!match || match[2]!.replace(/^.*@/, "") === "") {
    throw new ConfigError(
      `rabbitmq: invalid URL ${JSON.stringify(maskUrl(url))}: expected amqp://user:password@host:port/vhost`,
    );
  }
  try {
    new URL(url);
  } catch (error) {
    // Node's TypeError keeps the whole URL, password included, in `input`: not passed on.
    const reason = error instanceof Error ? error.message.replace(/:\s.*$/s, "") : "unparseable";
    throw new ConfigError(`rabbitmq: invalid URL ${JSON.stringify(maskUrl(url))}: ${reason}`);
  }
  // amqplib reads these from the query and fails at connect on a bad one (a ConnectionError):
  // checked here, so that a bad value is a ConfigError at createClient.
  const query = /\?([^#]*)/.exec(url)?.[1] ?? "";
  for (const pair of query.split("&")) {
    const [key = "", value = ""] = pair.split("=");
    const max = AMQP_URL_INTEGERS[key];
    if (max !== undefined && !(/^\d+$/.test(value) && Number(value) <= max)) {
      throw new ConfigError(
        `rabbitmq: invalid URL ${JSON.stringify(maskUrl(url))}: ${key} must be an integer within 0..${max}, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (/[?&]heartbeat=/.test(url)) return url;
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  return `${base}${base.includes("?") ? "&" : "?"}heartbeat=${heartbeatSeconds}`;
}

/** Resolve options once into a fully populated, validated object. */
export function resolveOptions(options: RabbitMQOptions = {}): ResolvedOptions {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("rabbitmq: options must be an object");
  const heartbeat = int("heartbeatSeconds", options.heartbeatSeconds, 30, 0, 3600);
  if (options.url !== undefined && typeof options.url !== "string")
    throw new ConfigError(`rabbitmq: url must be a string, got ${typeof options.url}`);
  const urls = splitHosts(options.url ?? DEFAULT_URL).map((u) => resolveUrl(u, heartbeat));
  const url = urls[0]!;
  const maxPriority = int("maxPriority", options.maxPriority, 0, 0, 255);
  const queueType = options.queueType ?? "classic";
  if (queueType !== "quorum" && queueType !== "classic") {
    throw new ConfigError(
      `rabbitmq: queueType must be "quorum" or "classic", got ${JSON.stringify(queueType)}`,
    );
  }
  if (queueType === "quorum" && maxPriority > 0) {
    throw new ConfigError(
      'rabbitmq: maxPriority needs queueType "classic" (quorum queues have no priorities in 3.10)',
    );
  }
  if (options.singleActiveConsumer !== undefined && typeof options.singleActiveConsumer !== "boolean") {
    throw new ConfigError("rabbitmq: singleActiveConsumer must be a boolean");
  }
  let reconnect: Required<ReconnectOptions> | false;
  if (options.reconnect === false) {
    reconnect = false;
  } else {
    const r = options.reconnect ?? {};
    if (typeof r !== "object" || r === null)
      throw new ConfigError("rabbitmq: reconnect must be an object or false");
    const initialDelayMs = duration("reconnect.initialDelayMs", r.initialDelayMs, 100);
    reconnect = {
      initialDelayMs: Math.max(1, initialDelayMs),
      maxDelayMs: Math.max(initialDelayMs, duration("reconnect.maxDelayMs", r.maxDelayMs, 1000)),
      giveUpAfterMs: duration("reconnect.giveUpAfterMs", r.giveUpAfterMs, Number.POSITIVE_INFINITY, true),
    };
  }
  const namespace = options.namespace ?? "omnibus";
  if (
    typeof namespace !== "string" ||
    !NAMESPACE.test(namespace) ||
    namespace.includes("..") ||
    namespace.startsWith("amq.")
  ) {
    throw new ConfigError("rabbitmq: namespace must be 1-50 characters of A-Za-z0-9._- (not amq.*, no '..')");
  }
  const connectionName = options.connectionName ?? "omnibus";
  if (typeof connectionName !== "string") throw new ConfigError("rabbitmq: connectionName must be a string");
  const socketOptions = options.socketOptions ?? {};
  if (typeof socketOptions !== "object" || socketOptions === null) {
    throw new ConfigError("rabbitmq: socketOptions must be an object");
  }
  return {
    url,
    urls,
    safeUrl: urls.map((u) => maskUrl(u)).join(","),
    queueType,
    maxPriority,
    singleActiveConsumer: options.singleActiveConsumer ?? false,
    maxMessageBytes: int(
      "maxMessageBytes",
      options.maxMessageBytes,
      16 * 1024 * 1024,
      1,
      BROKER_MAX_MESSAGE_BYTES,
    ),
    maxBatchSize: int("maxBatchSize", options.maxBatchSize, 1000, 1, 100_000),
    connectTimeoutMs: int("connectTimeoutMs", options.connectTimeoutMs, 10_000, 1),
    sendWaitMs: duration("sendWaitMs", options.sendWaitMs, 10_000),
    sendTimeoutMs: int("sendTimeoutMs", options.sendTimeoutMs, 30_000, 1),
    operationTimeoutMs: int("operationTimeoutMs", options.operationTimeoutMs, 15_000, 1),
    closeTimeoutMs: int("closeTimeoutMs", options.closeTimeoutMs, 5_000, 1),
    reconnect,
    namespace,
    connectionName,
    socketOptions,
  };
}
