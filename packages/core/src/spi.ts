/**
 * The adapter SPI: what a broker driver implements so that `@omnibus/core` can run on it.
 *
 * An adapter is a *thin driver*: it moves bytes and settles deliveries. Core does codecs,
 * validation, middleware, retries with backoff, dead-lettering, idempotency and request-reply
 * on top. Read `packages/core/README.md` ("Writing an adapter") before implementing one, and
 * run `@omnibus/conformance` against it to see what it gets right.
 *
 * @module
 */

import type { Logger } from "./logger.js";

/** Where a message goes or comes from. */
export type Address = QueueAddress | TopicAddress;

/** A point-to-point queue: each message reaches exactly one consumer. */
export interface QueueAddress {
  readonly kind: "queue";
  /** Validated by core: 1-200 chars of `[A-Za-z0-9._-]`, not starting with `.` or `-`, no `..`. */
  readonly name: string;
}

/** A publish-subscribe topic. */
export interface TopicAddress {
  readonly kind: "topic";
  readonly name: string;
}

/** What a consumer reads: a queue, or a topic through a named group. */
export type Source =
  | (QueueAddress & {
      /**
       * A private, temporary queue that the adapter may delete when the consumer closes
       * (core uses it for request-reply inboxes). Its name is unique per client.
       */
      readonly ephemeral?: boolean;
    })
  | (TopicAddress & {
      /**
       * The subscription group. Every group receives every message published after the group
       * was first subscribed; consumers inside one group compete. A group's messages are kept
       * while its consumers are offline (for persistent adapters).
       */
      readonly group: string;
    });

/** A message on its way to the broker: body already encoded by core. */
export interface OutboundMessage {
  /** Unique id, set by core (UUID v7 unless the caller gave one). Adapters must keep it. */
  readonly id: string;
  /** Encoded body; may be empty. */
  readonly body: Uint8Array;
  /**
   * String headers, including core's own `omnibus-*` headers (content type, dead-letter and reply
   * reason…). Adapters must round-trip every header unchanged (unicode, empty values).
   */
  readonly headers: Readonly<Record<string, string>>;
  /** Ordering / partition key. */
  readonly key?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly replyTo?: string | undefined;
  /** Milliseconds since the epoch when the message was created. */
  readonly timestamp: number;
  /** Deliver no earlier than this many ms from now (only when `features.delay`). */
  readonly delayMs?: number | undefined;
  /** 0 (lowest) to `features.maxPriority` (only when `features.priority`). */
  readonly priority?: number | undefined;
}

/** A message as it came off the broker. */
export interface InboundMessage {
  readonly id: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly key?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly replyTo?: string | undefined;
  readonly timestamp: number;
  /**
   * 1 on the first delivery, +1 for every redelivery of the same message, whether it came
   * back through {@link Delivery.nack} or because a consumer died without settling it.
   */
  readonly attempt: number;
  /** The broker's own message object (amqplib `ConsumeMessage`, kafkajs `KafkaMessage`, …). */
  readonly native: unknown;
}

/** One delivery of one message to one consumer. Settle it exactly once. */
export interface Delivery {
  readonly message: InboundMessage;
  /**
   * `true` once this delivery can no longer be settled because what it came on is gone (the
   * connection or channel closed, the partition was revoked, the lease was lost): the broker will
   * deliver the message again. Core drops a stale delivery that no handler has started, so that
   * after a connection loss only the handlers already running duplicate work. Optional: without
   * it core starts every delivery it was handed.
   */
  readonly stale?: boolean;
  // An adapter that reports `stale` frees the prefetch slot of such a delivery itself (its
  // connection is gone: it will not be settled).
  /** Done: the broker may forget the message. Resolves when the ack was sent (or batched). */
  ack(): Promise<void>;
  /**
   * Put the message back to be delivered again, no sooner than `delayMs` from now, with
   * `attempt + 1`. Adapters without native delayed redelivery emulate it (wait queues, retry
   * topics, schedules); the message must not be lost if the process dies meanwhile.
   */
  nack(options?: { delayMs?: number }): Promise<void>;
  // `delayMs` from core is a whole number of milliseconds from 0 to 2^31 - 1.
}

/** A running consumer. */
export interface ConsumerHandle {
  /**
   * Stop fetching new messages. Deliveries already handed to core stay valid and may still be
   * settled; undelivered prefetched messages must be released to the broker.
   */
  stop(): Promise<void>;
  /**
   * Release everything: core calls it once the deliveries it started were settled, or once its
   * `closeTimeoutMs` passed with handlers still running. Every delivery still unsettled then —
   * including ones core never started — goes back to the broker (at once where it can).
   */
  close(): Promise<void>;
}

/** Options core passes when it starts a consumer. */
export interface ConsumeOptions {
  /**
   * Upper bound on deliveries handed to core and not yet settled. The adapter must never exceed
   * it (core relies on it for memory); it sizes prefetch / batch reads from it.
   */
  readonly prefetch: number;
  /**
   * Called by the adapter for every delivery, synchronously and in broker order. Core never
   * throws from here.
   */
  readonly onDelivery: (delivery: Delivery) => void;
  /** Called when the consumer fails for good (after the adapter gave up reconnecting). */
  readonly onError: (error: Error) => void;
}

/**
 * What an adapter can do. Core emulates what it can and throws `UnsupportedFeatureError` at the
 * call site for the rest; the conformance suite tests every feature declared `true`.
 */
export interface Features {
  /** Messages survive a broker restart (durable storage + confirmed writes). */
  readonly persistent: boolean;
  /** Topics with groups: every group gets every message, members of a group compete. */
  readonly fanout: boolean;
  /** Messages with the same key are delivered in send order (first deliveries). */
  readonly orderingByKey: boolean;
  /** `delayMs` on send is honoured. */
  readonly delay: boolean;
  /** Largest `delayMs` the adapter accepts (Infinity when unbounded). */
  readonly maxDelayMs: number;
  /** `priority` on send is honoured on a queue with a backlog. */
  readonly priority: boolean;
  /** Highest priority value (only meaningful when `priority`). */
  readonly maxPriority: number;
  /** Largest encoded body + headers the broker accepts, in bytes. */
  readonly maxMessageBytes: number;
  /** Largest number of messages in one `send` call (core splits larger batches). */
  readonly maxBatchSize: number;
}

/**
 * A broker driver. Implementations are created by a factory (`rabbitmq(options)`), never by
 * `new` from user code, and expose their native client through {@link Adapter.native}.
 *
 * @typeParam Native - the type of the escape hatch (e.g. `{ connection, channel }`).
 */
export interface Adapter<Native = unknown> {
  /** Short lowercase name, e.g. `"rabbitmq"`; used in errors and logs. */
  readonly name: string;
  readonly features: Features;
  /** The broker's own client(s). Valid after {@link Adapter.connect}. */
  readonly native: Native;
  /** Connect (idempotent). Rejects with a `ConnectionError` or `ConfigError`. */
  connect(): Promise<void>;
  /**
   * Core passes the client's logger before it connects, so that what the adapter reports
   * (reconnects, a failed ack) goes where the application's logs go, at its level. An adapter
   * given a logger of its own by option keeps that one. Optional.
   */
  useLogger?(logger: Logger): void;
  /**
   * Send messages to one address. Resolves only when the broker has accepted every message
   * (publisher confirm, produce ack, …); rejects with a `PublishError` otherwise. Must apply
   * back-pressure rather than buffer without bound. Sending to a topic with no group yet is not
   * an error (the message may be dropped, as with any publish-subscribe system).
   */
  send(address: Address, messages: readonly OutboundMessage[]): Promise<void>;
  /** Start a consumer. Declares whatever the source needs (queue, group, binding) first. */
  consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle>;
  /**
   * Make sure a topic group exists so that messages published from now on are kept for it,
   * even before a consumer runs. Required when `features.fanout` is declared (core calls it from
   * `client.ensureGroup`, which fails with `UnsupportedFeatureError` without it).
   */
  ensureGroup?(topic: string, group: string): Promise<void>;
  /**
   * Delete a queue and its messages (`client.deleteQueue`, tests, ephemeral queues). Optional:
   * without it `client.deleteQueue` fails with `UnsupportedFeatureError`.
   *
   * Idempotent: deleting a queue that does not exist (or no longer does) resolves. It removes
   * what the adapter created for the queue alone (its wait or retry queues, schedules) and never
   * another destination: not a topic or queue whose broker name shares a prefix with it, not its
   * dead-letter queue (core deletes that itself, as a queue of its own).
   */
  deleteQueue?(name: string): Promise<void>;
  /**
   * Delete a topic with every group of it and what they hold (`client.deleteTopic`). Optional,
   * only meaningful with `features.fanout`: without it `client.deleteTopic` fails with
   * `UnsupportedFeatureError`.
   *
   * Idempotent: a topic that does not exist resolves. Everything the broker ties to the topic
   * goes with it: its groups (subscriptions, consumer groups, bound queues, consumers) and their
   * messages, whether or not they were made by this adapter instance. A consumer of the topic
   * still running may re-create its group; a later publish or subscribe starts the topic anew,
   * and a new group then gets none of the old messages. Never touches another topic, a queue of
   * the same name, or a dead-letter queue (core deletes those).
   */
  deleteTopic?(topic: string): Promise<void>;
  /**
   * Delete one group of a topic and the messages kept for it (`client.deleteGroup`). Optional,
   * only meaningful with `features.fanout`: without it `client.deleteGroup` fails with
   * `UnsupportedFeatureError`.
   *
   * Idempotent: a group (or topic) that does not exist resolves. The topic and its other groups
   * keep their messages; a group subscribed again under the name starts from now, as a new group.
   */
  deleteGroup?(topic: string, group: string): Promise<void>;
  /**
   * What the broker holds for one source right now: messages waiting, messages delivered and not
   * yet settled (`client.stats`, the CLI, the queue-depth gauges). Optional: without it
   * `client.stats` fails with `UnsupportedFeatureError`.
   *
   * Read from the broker itself (not from this adapter's own consumers), so that any process can
   * ask: a passive queue declare, a consumer group's committed offsets, queue attributes, consumer
   * info. A source that does not exist (yet) reports zeros; never creates anything. Counts may be
   * approximate or a moment old where the broker's are (SQS).
   */
  stats?(source: Source): Promise<SourceStats>;
  /**
   * Close every connection. Core's own sends have settled or timed out (`sendTimeoutMs`) by the
   * time it calls this; a send still running in the adapter must end (reject) with the close.
   */
  close(): Promise<void>;
}

/**
 * What {@link Adapter.stats} reports for one source (a queue, or a topic's group).
 *
 * `depth + (inFlight ?? 0)` is the source's lag: everything sent to it and not yet settled.
 */
export interface SourceStats {
  /**
   * Messages waiting to be delivered: a queue's ready messages, a group's messages not yet
   * delivered to it. Where the broker cannot tell waiting from in-flight (Kafka: end offsets −
   * committed offsets), every unsettled message, and {@link SourceStats.inFlight} is `undefined`.
   */
  readonly depth: number;
  /** Messages delivered to a consumer and not yet settled; `undefined` where the broker does not say. */
  readonly inFlight: number | undefined;
}

/**
 * What an adapter package exports as `fromUrl` so that `createClient({ url })` can build it:
 * core maps the URL scheme to the package (`amqp:` -> `@omnibus/rabbitmq`) and calls this.
 */
export type AdapterFactoryFromUrl = (url: string, options?: Record<string, unknown>) => Adapter;
