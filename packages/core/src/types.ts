import type { Codec } from "./codec.js";
import type {
  Contract,
  QueueBody,
  QueueInput,
  QueueName,
  RequestBody,
  RequestInput,
  RequestName,
  ResponseBody,
  ResponseInput,
  TopicBody,
  TopicInput,
  TopicName,
} from "./contract.js";
import type { Logger } from "./logger.js";
import type { AdapterSource } from "./resolve.js";
import type { RetryOptions } from "./retry.js";
import type { Adapter, Features } from "./spi.js";

/** Headers core writes itself. Applications should not set `omnibus-*` headers. */
export const HeaderNames = {
  /** Content type of the body, naming the codec that decodes it. Absent means `application/json`. */
  ContentType: "omnibus-content-type",
  /** Why a message was dead-lettered (the last error's message). */
  DeadLetterReason: "omnibus-dlq-reason",
  /** The last error's code (an OmnibusError code, the error's own `code`, or its name). */
  DeadLetterCode: "omnibus-dlq-code",
  /** Deliveries attempted before dead-lettering. */
  DeadLetterAttempts: "omnibus-dlq-attempts",
  /** Where the message came from: `queue:<name>` or `topic:<name>/<group>`. */
  DeadLetterOrigin: "omnibus-dlq-origin",
  /** When it was dead-lettered (ISO 8601). */
  DeadLetterAt: "omnibus-dlq-at",
  /** On replies: `ok` or `error`. */
  ReplyStatus: "omnibus-reply-status",
  /** On error replies: the remote error's code. */
  ReplyErrorCode: "omnibus-reply-error-code",
  /** On error replies: the remote error's message. */
  ReplyErrorMessage: "omnibus-reply-error-message",
  /**
   * The body was offloaded to a blob store by the `claimCheck` middleware: the message carries a
   * reference (store, key, size, SHA-256) instead of the payload. Value: the reference format, `v1`.
   */
  ClaimCheck: "omnibus-claim-check",
} as const;

/** A received message. */
export interface Message<T = unknown> {
  /** Unique id given by the sender (UUID v7 unless the sender chose one). */
  readonly id: string;
  /** The decoded (and, with a schema, validated) body. */
  readonly body: T;
  /** All headers, including core's `omnibus-*` ones. */
  readonly headers: Readonly<Record<string, string>>;
  /** Ordering / partition key, if the sender gave one. */
  readonly key: string | undefined;
  readonly correlationId: string | undefined;
  readonly replyTo: string | undefined;
  /** When the message was first sent. */
  readonly timestamp: Date;
  /** 1 on the first delivery, +1 on each redelivery. */
  readonly attempt: number;
  /** The queue or topic the message was read from. */
  readonly source: string;
  /** The group, for topic subscriptions. */
  readonly group: string | undefined;
  /**
   * The encoded body the codec decoded: as it travelled, or as a middleware's `inbound` step
   * restored it (the claim check's payload, not the reference that travelled).
   */
  readonly rawBody: Uint8Array;
  /** The broker's own message object; see the adapter's docs for its type. */
  readonly native: unknown;
}

/** Options of one send. */
export interface SendOptions {
  /** Message id. @default a new UUID v7 */
  id?: string;
  /** Ordering / partition key: messages with one key keep their order where the adapter declares `orderingByKey`. */
  key?: string;
  /** Extra headers (string values). */
  headers?: Record<string, string>;
  correlationId?: string;
  replyTo?: string;
  /** Deliver no sooner than this (needs `features.delay`). */
  delayMs?: number;
  /** 0 to `features.maxPriority` (needs `features.priority`). */
  priority?: number;
  /** Codec for this message. @default the client's codec */
  codec?: Codec<any>;
}

/** One message of a {@link Client.sendBatch}. */
export interface BatchItem<T = unknown> extends SendOptions {
  body: T;
}

/**
 * What a consume middleware sees. Core settles the message from the outcome of `next()`:
 * resolving acks, throwing retries or dead-letters.
 */
export interface ConsumeContext {
  readonly message: Message;
  /** `queue` or `topic`. */
  readonly kind: "queue" | "topic";
  /** The client consuming (to send follow-up messages, for instance). */
  readonly client: Client;
  /** Free-form per-message state for middleware. */
  readonly state: Record<string, unknown>;
}

/** What a send middleware sees; it may change `body` and `headers` before `next()`. */
export interface SendContext {
  readonly kind: "queue" | "topic";
  readonly destination: string;
  body: unknown;
  readonly options: SendOptions & { id: string; headers: Record<string, string> };
  readonly client: Client;
}

/**
 * What a middleware's `outbound` step sees: one message after its body was encoded, before core
 * checks it against the adapter's size limit and hands it over.
 */
export interface OutboundContext {
  /** `queue` (sends, requests and replies) or `topic`. */
  readonly kind: "queue" | "topic";
  /** The queue or topic the message goes to. */
  readonly destination: string;
  /** The message's id. */
  readonly id: string;
  /** The encoded body. Replace it to change what travels. */
  body: Uint8Array;
  /** The message's headers, core's own (`omnibus-content-type`) included; change them in place. */
  readonly headers: Record<string, string>;
  /** The adapter's limit on body plus header names and values (`features.maxMessageBytes`). */
  readonly maxMessageBytes: number;
  /** The client sending. */
  readonly client: Client;
}

/**
 * What a middleware's `inbound` step sees: one received message before core decodes its body.
 * A step that throws a `DecodeError` dead-letters the message at once; any other error counts
 * as a failed attempt (retried with backoff, then dead-lettered).
 */
export interface InboundContext {
  /** `queue` or `topic`. */
  readonly kind: "queue" | "topic";
  /** The queue or topic the message was read from (a request inbox for replies). */
  readonly source: string;
  /** The group, for topic subscriptions. */
  readonly group: string | undefined;
  /** The message's id. */
  readonly id: string;
  /** 1 on the first delivery, +1 on each redelivery. */
  readonly attempt: number;
  /** The body as it travelled. Replace it with what the codec should decode. */
  body: Uint8Array;
  /** A copy of the message's headers: what the handler will see; change them in place. */
  readonly headers: Record<string, string>;
  /**
   * Run `callback` once the message was acked after its handler succeeded — never when it is
   * retried, dead-lettered or its ack failed. A callback that fails is logged (warn), nothing
   * more: the message is settled already.
   */
  onAcked(callback: () => Promise<void> | void): void;
}

/**
 * A middleware: optional steps on the send path and on the consume path.
 *
 * `send` and `consume` form onions around the decoded body and the handler. `outbound` and
 * `inbound` work on the bytes as they travel: `outbound` runs on every encoded message core
 * sends for the application (sends, batches, publishes, requests, replies; never a dead-letter
 * copy, which keeps the bytes it came with), in `use` order; `inbound` runs on every received
 * message before decoding, in the reverse order, so that the steps nest (the last to change the
 * bytes on the way out is the first to undo it on the way in).
 */
export interface Middleware {
  /** For logs and errors. */
  readonly name: string;
  /** Around every send (per message, also inside batches). */
  send?(ctx: SendContext, next: () => Promise<void>): Promise<void>;
  /** Around every handler call. Throwing settles the message as a failure. */
  consume?(ctx: ConsumeContext, next: () => Promise<void>): Promise<void>;
  /** On every encoded message before the size check (see {@link OutboundContext}). */
  outbound?(ctx: OutboundContext): Promise<void> | void;
  /** On every received message before decoding (see {@link InboundContext}). */
  inbound?(ctx: InboundContext): Promise<void> | void;
}

/** Handler of messages. Return (or resolve) to ack; throw to retry or dead-letter. */
export type Handler<T> = (message: Message<T>) => Promise<void> | void;

/** Options of a consumer. */
export interface ConsumerOptions {
  /**
   * Handlers running at once for this consumer.
   * @default 16
   */
  concurrency?: number;
  /**
   * Deliveries the adapter may hold for this consumer ahead of the handlers.
   * @default max(256, concurrency * 8)
   */
  prefetch?: number;
  /** Retry policy; `maxAttempts: 1` dead-letters on the first failure. */
  retry?: RetryOptions;
  /**
   * Queue receiving messages that failed their last attempt, could not be decoded, or failed the
   * contract's schema. @default `<queue>.dlq`, or `<topic>.<group>.<hash>.dlq` for subscriptions
   * (the hash keeps topic `a.b` group `c` apart from topic `a` group `b.c`; `deadLetterQueueFor`
   * and `Subscription.deadLetterQueue` give the name)
   */
  deadLetterQueue?: string;
  /**
   * Handlers of messages with the same `key` never run at the same time: they start one after
   * the other in delivery order, while messages of other keys (and without a key) run alongside,
   * up to `concurrency`. With an adapter that declares `orderingByKey`, a key's first deliveries
   * are handled in send order by one consumer. `false` lets them overlap. @default true
   */
  orderByKey?: boolean;
  /** Middleware for this consumer only, inside the client's. */
  use?: Middleware[];
  /**
   * Decode every body with this codec, whatever its content type says (e.g. `bytesCodec` to
   * read a dead-letter queue holding bodies that failed to decode). @default by content type
   */
  codec?: Codec<any>;
}

/** Options of a topic subscription. */
export interface SubscribeOptions extends ConsumerOptions {
  /** The group: every group gets every message; members of one group share them. */
  group: string;
}

/** Options of `client.deleteQueue` and `client.deleteGroup`. */
export interface DeleteOptions {
  /**
   * Also delete the default dead-letter queue (`deadLetterQueueFor` the queue or group). A
   * `deadLetterQueue` option given to a consumer is never deleted: delete it as a queue.
   * @default true
   */
  deadLetterQueue?: boolean;
}

/** Options of `client.deleteTopic`. */
export interface DeleteTopicOptions extends DeleteOptions {
  /**
   * Groups of the topic whose default dead-letter queues go too, beyond those this client
   * subscribed to or ensured (core cannot list a topic's groups on every broker). The groups
   * themselves go with the topic whether named or not. @default []
   */
  groups?: readonly string[];
}

/** Options of a request. */
export interface RequestOptions extends Omit<SendOptions, "replyTo" | "correlationId" | "delayMs"> {
  /** Give up after this long with a `RequestTimeoutError`. @default 5000 */
  timeoutMs?: number;
}

/** A running consumer. */
export interface Subscription extends AsyncDisposable {
  /** The queue or topic consumed. */
  readonly source: string;
  /** The group, for topic subscriptions. */
  readonly group: string | undefined;
  /**
   * Where this consumer dead-letters: the `deadLetterQueue` option, or the default —
   * `<queue>.dlq`, or `<topic>.<group>.<hash>.dlq` for a topic group (see `deadLetterQueueFor`).
   */
  readonly deadLetterQueue: string;
  /** Stop fetching, wait for in-flight handlers (up to the client's `closeTimeoutMs`), release. */
  close(): Promise<void>;
}

/** Options of `client.stats`. */
export interface StatsOptions {
  /** Read a topic's group instead of a queue: `stats("orders", { group: "billing" })`. */
  readonly group?: string;
  /**
   * The dead-letter queue whose depth to report, or `false` for none.
   * @default the source's default dead-letter queue (`deadLetterQueueFor`)
   */
  readonly deadLetterQueue?: string | false;
}

/** What the broker holds for one queue or topic group, from `client.stats`. */
export interface DestinationStats {
  /** `"queue"`, or `"topic"` for a topic's group. */
  readonly kind: "queue" | "topic";
  /** The queue or topic. */
  readonly name: string;
  /** The group, for a topic. */
  readonly group: string | undefined;
  /** Messages waiting to be delivered (see the SPI's `SourceStats.depth`). */
  readonly depth: number;
  /** Delivered and not yet settled; `undefined` where the broker does not say (Kafka). */
  readonly inFlight: number | undefined;
  /** Everything sent to the source and not yet settled: `depth + (inFlight ?? 0)`. */
  readonly lag: number;
  /** The dead-letter queue read, or `undefined` with `deadLetterQueue: false`. */
  readonly deadLetterQueue: string | undefined;
  /** Messages in the dead-letter queue (waiting plus in flight); `undefined` when not read. */
  readonly deadLetters: number | undefined;
  /** When the broker was asked. */
  readonly at: Date;
}

/** One consumer in a {@link HealthReport}. */
export interface ConsumerHealth {
  /** The queue or topic consumed. */
  readonly source: string;
  /** The group, for a topic subscription. */
  readonly group: string | undefined;
  /** `false` once the adapter gave up on it (its `onError`): it no longer receives. */
  readonly running: boolean;
  /** Handlers running right now. */
  readonly handlersRunning: number;
  /** The failure that stopped it, when `running` is `false`. */
  readonly error: string | undefined;
}

/** What `client.health()` reports: for liveness and readiness probes. */
export interface HealthReport {
  /**
   * `"ok"` when connected and every consumer runs; `"degraded"` when connected and a consumer
   * failed for good; `"down"` when not connected (not yet, failed, or closed).
   */
  readonly status: "ok" | "degraded" | "down";
  /** The adapter connected and the client is not closed. */
  readonly connected: boolean;
  /** `close()` was called. */
  readonly closed: boolean;
  /** The adapter's name. */
  readonly adapter: string;
  /** The client's consumers (subscriptions and repliers), not the request inbox. */
  readonly consumers: readonly ConsumerHealth[];
  /**
   * The last failure the client saw — a failed connect, a send that failed, a consumer that
   * failed for good — with the time; passwords masked. Handler errors are not counted (they are
   * retried or dead-lettered, as designed).
   */
  readonly lastError:
    | { readonly message: string; readonly code: string | undefined; readonly at: Date }
    | undefined;
}

/**
 * OpenTelemetry traces and metrics of a client (see the README's "Telemetry"). They go through
 * `@opentelemetry/api`, an optional peer dependency: with it installed and an SDK registered, a
 * client traces and measures every send and handled message; without it nothing runs.
 */
export interface TelemetryOptions {
  /** `false` turns traces and metrics off for this client. @default true */
  readonly enabled?: boolean;
  /**
   * Where spans go: an OpenTelemetry `TracerProvider`.
   * @default the global tracer provider (`trace.getTracerProvider()`)
   */
  readonly tracerProvider?: {
    /** The tracer of an instrumentation scope (core asks for `@omnibus/core`). */
    getTracer(name: string, version?: string): unknown;
  };
  /**
   * Where metrics go: an OpenTelemetry `MeterProvider`.
   * @default the global meter provider (`metrics.getMeterProvider()`)
   */
  readonly meterProvider?: {
    /** The meter of an instrumentation scope (core asks for `@omnibus/core`). */
    getMeter(name: string, version?: string): unknown;
  };
  /**
   * How a `process` span relates to the producer's context carried in the message: `"link"` (a
   * span link; the process span's parent is whatever is active), as the messaging conventions
   * recommend, or `"parent"` (the producer's span is its parent: one trace from send to process).
   * @default "link"
   */
  readonly consumerContext?: "link" | "parent";
  /**
   * Observable gauges of broker state (`omnibus.queue.depth`, `omnibus.queue.in_flight`,
   * `omnibus.consumer.lag`, `omnibus.dead_letter.depth`) for the sources this client consumes,
   * read with `stats()` at each metric collection (adapters without `stats()` have none).
   * @default true
   */
  readonly brokerGauges?: boolean;
}

/** Options of {@link createClient}. */ /** Options of {@link createClient}. */
export interface ClientOptions<C extends Contract = Contract> {
  /**
   * Broker URL; its scheme picks the adapter: one registered with `registerAdapter` or given in
   * `adapters`, or a package of this project — `memory:` (@omnibus/memory), `amqp:`/`amqps:`
   * (@omnibus/rabbitmq), `kafka:` (@omnibus/kafka), `sqs:` (@omnibus/sqs), `nats:`
   * (@omnibus/nats), `redis:`/`rediss:` (@omnibus/redis), `activemq:`/`activemqs:`/`amqp10:`/`amqp10s:`
   * (@omnibus/activemq). A bad URL or option throws
   * `ConfigError` from `createClient` when the adapter's module is at hand (registered as a
   * module, or imported), otherwise from the first `connect()`. Ignored when `adapter` is given.
   * @default "memory://"
   */
  url?: string;
  /** An adapter object, instead of a URL. */
  adapter?: Adapter<any>;
  /**
   * Adapters for URL schemes of your own, for this client only (see `registerAdapter` for all
   * clients): `{ postgres: () => import("@acme/omnibus-postgres") }`, or the module itself, whose
   * `fromUrl` then checks the URL at once.
   */
  adapters?: Readonly<Record<string, AdapterSource>>;
  /** Options passed to the adapter's `fromUrl` when `url` is used. */
  adapterOptions?: Record<string, unknown>;
  /** Destination names and body types; see {@link Contract}. */
  contract?: C;
  /** Codec for bodies sent. @default jsonCodec */
  codec?: Codec<any>;
  /** Further codecs to decode received bodies by content type (JSON, text and bytes are built in). */
  codecs?: Codec<any>[];
  /** Middleware, outermost first. */
  use?: Middleware[];
  /** @default a console logger at level "warn" */
  logger?: Logger;
  /** Default retry policy of consumers. */
  retry?: RetryOptions;
  /** OpenTelemetry traces and metrics. @default on when `@opentelemetry/api` is installed */
  telemetry?: TelemetryOptions;
  /** Defaults for consumers. */
  consumer?: Pick<ConsumerOptions, "concurrency" | "prefetch">;
  /** How long `close()` waits for in-flight handlers before giving up. @default 10000 */
  closeTimeoutMs?: number;
  /** Default request timeout. @default 5000 */
  requestTimeoutMs?: number;
  /**
   * Longest a send (`send`, `sendBatch`, `publish`, a reply, a dead-letter copy) waits for the
   * broker to confirm, whatever the broker or the network does; then it fails with a retryable
   * `PublishError` (the message may or may not have been stored: at-least-once). Adapters may
   * give up sooner. @default 30000
   */
  sendTimeoutMs?: number;
  /**
   * Longest `connect()` — and the start of a consumer — waits for the broker; then it fails with a
   * `ConnectionError` and the next call tries again. @default 30000
   */
  connectTimeoutMs?: number;
}

/**
 * A connection to a broker through an adapter. Create with {@link createClient}.
 *
 * @typeParam C - the contract typing destinations and bodies (any names, `unknown` bodies without one)
 */
export interface Client<C extends Contract = Contract> extends AsyncDisposable {
  /** The adapter's name (`"memory"`, `"rabbitmq"`…). Resolves the adapter if needed. */
  readonly adapterName: string;
  /** What the adapter supports. Valid after {@link Client.connect}. */
  readonly features: Features;
  /** The adapter (valid after connect); `adapter.native` is the escape hatch to the broker client. */
  readonly adapter: Adapter<unknown>;
  /** Connect now (otherwise the first call connects). */
  connect(): Promise<void>;
  /** Send one message to a queue; resolves with its id once the broker has it. */
  send<N extends QueueName<C>>(queue: N, body: QueueInput<C, N>, options?: SendOptions): Promise<string>;
  /** Send many messages to one queue; resolves with their ids once the broker has them all. */
  sendBatch<N extends QueueName<C>>(
    queue: N,
    items: readonly BatchItem<QueueInput<C, N>>[],
  ): Promise<string[]>;
  /** Publish one message to a topic; every group gets it. */
  publish<N extends TopicName<C>>(topic: N, body: TopicInput<C, N>, options?: SendOptions): Promise<string>;
  /** Consume a queue: each message reaches one consumer of the queue. */
  consume<N extends QueueName<C>>(
    queue: N,
    handler: Handler<QueueBody<C, N>>,
    options?: ConsumerOptions,
  ): Promise<Subscription>;
  /** Subscribe to a topic in a group. */
  subscribe<N extends TopicName<C>>(
    topic: N,
    options: SubscribeOptions,
    handler: Handler<TopicBody<C, N>>,
  ): Promise<Subscription>;
  /** Make sure `group` exists on `topic`, so messages published from now on are kept for it. */
  ensureGroup<N extends TopicName<C>>(topic: N, group: string): Promise<void>;
  /**
   * Delete a queue with its messages, and its default dead-letter queue `<queue>.dlq` unless
   * `deadLetterQueue: false`. Resolves when the queue does not exist. `UnsupportedFeatureError`
   * when the adapter has no `deleteQueue`. A consumer of the queue still running (here or
   * elsewhere) may declare it again, empty.
   */
  deleteQueue<N extends QueueName<C> | RequestName<C>>(queue: N, options?: DeleteOptions): Promise<void>;
  /**
   * Delete a topic with every group of it and their messages, wherever the broker ties groups to
   * the topic; also the default dead-letter queues of the groups this client subscribed to or
   * ensured on it, and of the groups named in `options.groups` (unless `deadLetterQueue: false`).
   * Resolves when the topic does not exist. `UnsupportedFeatureError` when the adapter has no
   * `deleteTopic` (or no topics).
   */
  deleteTopic<N extends TopicName<C>>(topic: N, options?: DeleteTopicOptions): Promise<void>;
  /**
   * Delete one group of a topic and what is kept for it, and its default dead-letter queue
   * (`<topic>.<group>.<hash>.dlq`) unless `deadLetterQueue: false`; the topic's other groups keep
   * theirs. Resolves when the group does not exist. `UnsupportedFeatureError` when the adapter
   * has no `deleteGroup` (or no topics).
   */
  deleteGroup<N extends TopicName<C>>(topic: N, group: string, options?: DeleteOptions): Promise<void>;
  /**
   * What the broker holds for a queue, or for a topic's group with `{ group }`: depth, in flight,
   * lag and the dead-letter queue's depth, read from the broker (any process may ask). A source
   * that does not exist reports zeros. `UnsupportedFeatureError` when the adapter has no `stats`.
   *
   * @example
   * ```ts
   * const { depth, inFlight, lag, deadLetters } = await bus.stats("orders");
   * const billing = await bus.stats("order.placed", { group: "billing" });
   * ```
   */
  stats(destination: string, options?: StatsOptions): Promise<DestinationStats>;
  /**
   * A synchronous snapshot for liveness and readiness probes: connected, consumers running,
   * the last error. Never throws, never touches the network.
   */
  health(): HealthReport;
  /** Send a request and wait for its reply. */
  request<N extends RequestName<C>>(
    queue: N,
    body: RequestInput<C, N>,
    options?: RequestOptions,
  ): Promise<ResponseBody<C, N>>;
  /** Answer requests sent to `queue`; a thrown error goes back to the caller as a `RemoteError`. */
  reply<N extends RequestName<C>>(
    queue: N,
    handler: (message: Message<RequestBody<C, N>>) => Promise<ResponseInput<C, N>> | ResponseInput<C, N>,
    options?: Omit<ConsumerOptions, "retry" | "deadLetterQueue">,
  ): Promise<Subscription>;
  /**
   * Stop fetching, wait for in-flight handlers (up to `closeTimeoutMs`), settle, fail pending
   * requests with `ClosedError`, and disconnect. Idempotent.
   */
  close(): Promise<void>;
}
