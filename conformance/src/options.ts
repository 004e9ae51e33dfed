import type { Adapter, BlobStore } from "@omnibus/core";

/**
 * What an adapter author tells the suite about the adapter under test and its broker. Only
 * `name` and `adapter` are required; every other field turns on cases or sets a bound that the
 * adapter is then held to.
 */
export interface ConformanceOptions {
  /** Shown in every case's name and in the report, e.g. `"rabbitmq"`. */
  name: string;
  /**
   * Builds a fresh, unconnected adapter. Called once at collection time to read `features`, then
   * once per client or connection a case needs (several per case: a producer, a consumer, a
   * rescuer that takes over from a dead one…).
   */
  adapter: () => Adapter;
  /**
   * Builds an adapter pointed at an address where no broker listens, with `password` as the
   * password of its URL or credentials. `connect()` (or the first send) must then fail with a
   * `ConnectionError` or `ConfigError` within {@link ConformanceOptions.unreachableWithinMs}, and
   * no error, message, stack or `cause` chain may contain the password. Without it the
   * unreachable case is skipped (an in-process adapter cannot be unreachable).
   */
  unreachable?: (password: string) => Adapter;
  /**
   * The password in the URL or credentials that {@link ConformanceOptions.adapter} connects with
   * (a test password, unique enough to search for). With it, `client/secrets-live` runs a client
   * on the live broker through its failing paths too (a handler that throws, a dead letter, a
   * request nobody answers, a bad name, a send after close) and proves that no log line, output on
   * stdout or stderr, or error with its `cause` chain holds it. Without it that case is skipped.
   */
  password?: string;
  /**
   * The deadline for an unreachable broker to fail `connect()` or the first send.
   * @default 10000
   */
  unreachableWithinMs?: number;
  /** Multiplies every deadline and bound, for slow brokers (Kafka group joins). @default 1 */
  timeScale?: number;
  /**
   * How long until the deliveries of a consumer whose adapter closed without settling them come
   * back to another consumer (at once for most adapters; a visibility timeout or idle-claim time
   * for others). The crash and close cases wait this long plus {@link redeliveryBoundMs}.
   * @default 5000
   */
  redeliveryAfterMs?: number;
  /**
   * How much later than asked a nacked or delayed message may come back: a message nacked with
   * `delayMs` must arrive within `[delayMs, delayMs + redeliveryBoundMs]`. Brokers that count
   * delays in whole seconds (SQS) declare about a second more than those that count milliseconds.
   * @default 1000
   */
  redeliveryBoundMs?: number;
  /**
   * The lease (visibility timeout, idle-claim time, ack wait) the adapter was configured with for
   * this run: after it, the broker would hand an unsettled delivery to another consumer unless
   * the adapter extends it. The lease case holds a delivery for three leases and requires that no
   * other consumer receives it meanwhile. Leave it out where deliveries stay with a live
   * connection however long they are held (RabbitMQ, Kafka); the case then holds for 3 s.
   */
  leaseMs?: number;
  /**
   * A consumer owns the partitions it was assigned until it closes (Kafka): `stop()` stops
   * handing out messages, but what it fetched reaches other consumers only once it closed
   * (a graceful shutdown waits `closeTimeoutMs` at most). The stop-release case then checks the
   * release after `close()` instead of while the stopped consumer is still open.
   * @default false
   */
  ownsPartitions?: boolean;
  /**
   * Gives the suite a broker it may restart and kill. The restart case streams messages from
   * three producers while the broker restarts gracefully and is killed, and then proves that no
   * confirmed message is lost (where `features.persistent`), that no send waits without bound and
   * that consumers resume on their own. Without it the case is skipped.
   */
  restart?: () => Promise<RestartHarness>;
  /**
   * Gives the suite a way to cut every connection (a TCP proxy in front of the broker). The cut
   * case streams messages while every connection is dropped and refused for a few seconds, and
   * proves the same as the restart case. Without it the case is skipped.
   */
  proxy?: () => Promise<ProxyHarness>;
  /**
   * How long after the broker (or the network) is back consumers must have resumed and sends
   * succeed again, in the restart and cut cases.
   * @default 15000
   */
  resumeWithinMs?: number;
  /**
   * Checks the adapter's escape hatch after `connect()`: return a sentence saying what is wrong,
   * or `undefined` when `native` is the broker client the adapter documents. Without it the suite
   * only requires `native` to be a non-null object that stays the same across reads.
   */
  checkNative?: (native: unknown) => string | undefined;
  /**
   * The blob store the claim-check cases put payloads in (called once per case): an S3 store,
   * say, to prove it on this broker. The cases delete what they leave in it.
   * @default a `fileBlobStore` in a new temporary directory, removed after the case
   */
  blobStore?: () => BlobStore | Promise<BlobStore>;
  /**
   * How many cases run at once. Every case names its own destinations and opens its own
   * adapters, so cases may overlap; most of a case's time is waiting on the broker (leases,
   * redelivery bounds, observation windows), and 4 at a time takes a broker's run from minutes
   * to about a third of that. The restart and cut cases run alone whatever this is. Keep 1 while
   * you debug a failure: with cases overlapping, an unhandled rejection is charged to every case
   * running when it escaped. Under vitest, its `maxConcurrency` (default 5) is a second bound.
   * @default 1
   */
  concurrency?: number;
}

/**
 * A broker the suite may restart and kill: a private instance (see `startPrivate` in
 * `@omnibus/brokers`), never a shared service.
 */
export interface RestartHarness {
  /** A fresh, unconnected adapter for this broker. */
  adapter(): Adapter;
  /** Stop the broker gracefully and start it again; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** SIGKILL the broker and start it again; resolves once it accepts connections. */
  kill(): Promise<void>;
  /** Stop the broker and remove its data. */
  close(): Promise<void>;
}

/** A way to cut every connection of an adapter to its broker (see {@link tcpProxy}). */
export interface ProxyHarness {
  /** A fresh, unconnected adapter that reaches its broker only through the proxy. */
  adapter(): Adapter;
  /** Drop every connection and refuse new ones for `ms`, then restore; resolves once restored. */
  cut(ms: number): Promise<void>;
  /** Stop the proxy and release what the harness started. */
  close(): Promise<void>;
}

/** {@link ConformanceOptions} with every default filled in. */
export interface ResolvedConformanceOptions
  extends Required<
    Omit<
      ConformanceOptions,
      | "unreachable"
      | "password"
      | "leaseMs"
      | "checkNative"
      | "restart"
      | "proxy"
      | "blobStore"
      | "concurrency"
    >
  > {
  /** As given: {@link ConformanceOptions.password}. */
  readonly password: string | undefined;
  /** As given: {@link ConformanceOptions.unreachable}. */
  readonly unreachable: ConformanceOptions["unreachable"];
  readonly leaseMs: number | undefined;
  /** As given: {@link ConformanceOptions.checkNative}. */
  readonly checkNative: ConformanceOptions["checkNative"];
  /** As given: {@link ConformanceOptions.restart}. */
  readonly restart: ConformanceOptions["restart"];
  /** As given: {@link ConformanceOptions.proxy}. */
  readonly proxy: ConformanceOptions["proxy"];
  /** As given: {@link ConformanceOptions.blobStore}. */
  readonly blobStore: ConformanceOptions["blobStore"];
  /** {@link ConformanceOptions.concurrency}: a positive integer. */
  readonly concurrency: number;
}

function password(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length < 8)
    throw new TypeError(
      "conformance options: password must be a string of 8 characters or more (it is searched for)",
    );
  return value;
}

/** Fill in the defaults of {@link ConformanceOptions}. */
export function resolveConformanceOptions(options: ConformanceOptions): ResolvedConformanceOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("conformance options: an object");
  if (typeof options.name !== "string" || options.name.length === 0)
    throw new TypeError("conformance options: name must be a non-empty string");
  if (typeof options.adapter !== "function")
    throw new TypeError("conformance options: adapter must be a function returning a new adapter");
  const positive = (key: keyof ConformanceOptions, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !(value > 0))
      throw new TypeError(`conformance options: ${key} must be a positive number, got ${String(value)}`);
    return value;
  };
  const count = (key: keyof ConformanceOptions, value: unknown): number => {
    if (value === undefined) return 1;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
      throw new TypeError(`conformance options: ${key} must be a positive integer, got ${String(value)}`);
    return value;
  };
  return {
    name: options.name,
    adapter: options.adapter,
    unreachable: options.unreachable,
    password: password(options.password),
    unreachableWithinMs: positive("unreachableWithinMs", options.unreachableWithinMs, 10_000),
    timeScale: positive("timeScale", options.timeScale, 1),
    redeliveryAfterMs: positive("redeliveryAfterMs", options.redeliveryAfterMs, 5_000),
    redeliveryBoundMs: positive("redeliveryBoundMs", options.redeliveryBoundMs, 1_000),
    leaseMs: options.leaseMs === undefined ? undefined : positive("leaseMs", options.leaseMs, 0),
    ownsPartitions: options.ownsPartitions ?? false,
    restart: options.restart,
    proxy: options.proxy,
    resumeWithinMs: positive("resumeWithinMs", options.resumeWithinMs, 15_000),
    checkNative: options.checkNative,
    blobStore: options.blobStore,
    concurrency: count("concurrency", options.concurrency),
  };
}
