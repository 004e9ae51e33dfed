/**
 * The Pub/Sub adapter: topics and subscriptions on the gRPC clients of `@google-cloud/pubsub`
 * (`v1.PublisherClient`, `v1.SubscriberClient`), with the adapter kit's group commit, memos and
 * settle-once deliveries.
 *
 * - A queue is a topic with one shared subscription (competing consumers); sending to a queue
 *   creates both, so nothing sent before the first consumer is lost.
 * - A topic is a topic; each group is a subscription of it, created by `ensureGroup` or its first
 *   consumer (a new subscription receives only what is published after it exists).
 * - Every subscription has a dead-letter policy (only with one does Pub/Sub count delivery
 *   attempts), and message ordering when `messageOrdering` is set (ordering keys = Omnibus keys).
 * - Sends resolve on the publish response; concurrent sends to one topic are gathered while a
 *   publish is in flight (one request in flight per topic keeps per-key order), and the messages
 *   of one send go in one request when they fit.
 * @module
 */
import { PubSub, v1 } from "@google-cloud/pubsub";
import {
  type Adapter,
  type Address,
  ClosedError,
  ConfigError,
  ConnectionError,
  type ConsumeOptions,
  type ConsumerHandle,
  consoleLogger,
  type Features,
  type Logger,
  MessageTooLargeError,
  type OutboundMessage,
  PublishError,
  type Source,
} from "@omnibus/core";
import { delay, INBOX_PREFIX, OnceByKey, once } from "@omnibus/core/adapter";
import { MAX_DEADLINE_S, PullConsumer } from "./consumer.js";
import { groupSubscriptionId, queueIds, topicId } from "./names.js";
import type { ResolvedOptions } from "./options.js";
import { type Encoded, encode, type WireMessage } from "./wire.js";

/** The escape hatch: the clients the adapter runs on. */
export interface PubsubNative {
  /** The handwritten client (`new PubSub()`), for topics, subscriptions, snapshots, schemas. */
  readonly pubsub: PubSub;
  /** The generated gRPC publisher client the adapter publishes with. */
  readonly publisher: v1.PublisherClient;
  /** The generated gRPC subscriber client the adapter pulls, acks and extends leases with. */
  readonly subscriber: v1.SubscriberClient;
  /** The project every resource lives in. */
  readonly projectId: string;
}

/** Pub/Sub's limit on one publish request (and on one message): 10 MB. */
const MAX_REQUEST_BYTES = 10_000_000;
/** Room kept for attributes, framing and the request envelope. */
const RESERVE_BYTES = 64 * 1024;
/** Pub/Sub's limit on messages per publish request. */
const MAX_BATCH = 1000;
/** Most bytes of messages the adapter puts in one publish request. */
const MAX_BATCH_BYTES = MAX_REQUEST_BYTES - RESERVE_BYTES;

/** Messages of one send (all of them, or one request's worth) waiting for their publish. */
interface Unit {
  readonly messages: WireMessage[];
  readonly bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** A topic's publishing: one request in flight, the units that arrived meanwhile queued. */
interface Lane {
  readonly queue: Unit[];
  busy: boolean;
}

// gRPC status codes.
const CODE = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  UNAUTHENTICATED: 16,
  UNAVAILABLE: 14,
};

const codeOf = (error: unknown): number | undefined => (error as { code?: number })?.code;

/** The Pub/Sub adapter. Build it with {@link pubsub}. */
export class PubsubAdapter implements Adapter<PubsubNative> {
  readonly name = "pubsub";
  readonly features: Features;
  readonly #o: ResolvedOptions;

  #logger: Logger;
  #native: PubsubNative | undefined;
  #closed = false;
  readonly #consumers = new Set<PullConsumer>();
  readonly #topics = new OnceByKey<string, void>();
  readonly #subscriptions = new OnceByKey<string, void>();
  /** Messages being published (bounded by `maxInFlight`), and the sends waiting for room. */
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  /** Per topic id: one publish in flight, what arrives meanwhile goes in the next one. */
  readonly #lanes = new Map<string, Lane>();
  readonly #connect = once(() => this.#open());

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.features = Object.freeze({
      // Google Cloud stores messages durably (7 days by default) and acknowledges a publish once
      // it has; the emulator keeps everything in memory, so there it is false (and the suite
      // proves resumption after a restart, not durability).
      persistent: !options.emulatorHost,
      fanout: true,
      orderingByKey: options.messageOrdering,
      // Pub/Sub has no delayed delivery of a publish; nack delays are honoured (modifyAckDeadline).
      delay: false,
      maxDelayMs: 0,
      priority: false,
      maxPriority: 0,
      maxMessageBytes: MAX_REQUEST_BYTES - RESERVE_BYTES,
      maxBatchSize: MAX_BATCH,
    });
    this.#logger = consoleLogger("warn");
  }

  get native(): PubsubNative {
    if (!this.#native) throw new ClosedError("pubsub: native is available after connect()");
    return this.#native;
  }

  useLogger(logger: Logger): void {
    this.#logger = logger;
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("pubsub: the adapter is closed"));
    return this.#connect();
  }

  async #open(): Promise<void> {
    const { projectId, emulatorHost } = this.#o;
    const config = {
      projectId,
      // gRPC backs reconnects off up to 120 s by default: after a broker restart the channel would
      // wait that long to try again (measured: consumers back after 45 s). Try every second.
      "grpc.initial_reconnect_backoff_ms": 250,
      "grpc.max_reconnect_backoff_ms": 1_000,
      ...(emulatorHost
        ? // universeDomain: without it the auth library probes the GCE metadata server first.
          { apiEndpoint: emulatorHost, emulatorMode: true, universeDomain: "googleapis.com" }
        : {}),
      ...this.#o.clientConfig,
    };
    const client = new PubSub(config);
    let publisher: v1.PublisherClient | undefined;
    let subscriber: v1.SubscriberClient | undefined;
    try {
      const gapic = (await client.getClientConfig()) as ConstructorParameters<typeof v1.PublisherClient>[0];
      publisher = new v1.PublisherClient(gapic);
      subscriber = new v1.SubscriberClient(gapic);
      // A call with a deadline and no retries: an unreachable endpoint fails here, not later.
      await publisher.listTopics(
        { project: `projects/${projectId}`, pageSize: 1 },
        { timeout: 5_000, maxRetries: 0, autoPaginate: false },
      );
      this.#native = { pubsub: client, publisher, subscriber, projectId };
      await this.#ensureDeadLetter();
    } catch (error) {
      this.#native = undefined;
      await Promise.allSettled([publisher?.close(), subscriber?.close(), client.close()]);
      const where = emulatorHost ? `the emulator at ${emulatorHost}` : `Google Cloud (project ${projectId})`;
      const code = codeOf(error);
      if (code === CODE.PERMISSION_DENIED || code === CODE.UNAUTHENTICATED || code === CODE.INVALID_ARGUMENT)
        throw new ConfigError(`pubsub: ${where} refused the adapter: ${(error as Error).message}`, {
          cause: error,
        });
      throw new ConnectionError(`pubsub: cannot reach ${where}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async #ready(): Promise<PubsubNative> {
    if (this.#closed) throw new ClosedError("pubsub: the adapter is closed");
    await this.connect();
    if (this.#closed) throw new ClosedError("pubsub: the adapter is closed");
    return this.#native!;
  }

  #topicPath(id: string): string {
    return `projects/${this.#o.projectId}/topics/${id}`;
  }

  #subscriptionPath(id: string): string {
    return `projects/${this.#o.projectId}/subscriptions/${id}`;
  }

  #ensureTopic(id: string): Promise<void> {
    return this.#topics.get(id, async () => {
      try {
        await this.#native!.publisher.createTopic({ name: this.#topicPath(id) });
      } catch (error) {
        if (codeOf(error) !== CODE.ALREADY_EXISTS) throw error;
      }
    });
  }

  #ensureSubscription(id: string, topic: string, deadLetter = true): Promise<void> {
    return this.#subscriptions.get(id, async () => {
      await this.#ensureTopic(topic);
      const request = {
        name: this.#subscriptionPath(id),
        topic: this.#topicPath(topic),
        ackDeadlineSeconds: Math.min(MAX_DEADLINE_S, Math.max(10, Math.ceil(this.#o.leaseMs / 1000))),
        enableMessageOrdering: this.#o.messageOrdering,
        // Never expire for inactivity (the default is 31 days): a queue stays a queue.
        expirationPolicy: {},
        ...(deadLetter
          ? {
              deadLetterPolicy: {
                deadLetterTopic: this.#topicPath(this.#o.deadLetterTopic),
                maxDeliveryAttempts: this.#o.maxDeliveryAttempts,
              },
            }
          : {}),
      };
      try {
        await this.#native!.subscriber.createSubscription(request);
      } catch (error) {
        if (codeOf(error) === CODE.ALREADY_EXISTS) return;
        if (codeOf(error) === CODE.NOT_FOUND) {
          // The topic, or the dead-letter policy's topic, went away since we made it (an emulator
          // restart loses both): make them again.
          this.#topics.forget(topic);
          await this.#ensureTopic(topic);
          if (deadLetter) {
            this.#topics.forget(this.#o.deadLetterTopic);
            this.#subscriptions.forget(this.#o.deadLetterTopic);
            await this.#ensureDeadLetter();
          }
          await this.#native!.subscriber.createSubscription(request).catch((e: unknown) => {
            if (codeOf(e) !== CODE.ALREADY_EXISTS) throw e;
          });
          return;
        }
        throw error;
      }
    });
  }

  /** The dead-letter policy's topic, with a subscription of its own so that what lands there is kept. */
  #ensureDeadLetter(): Promise<void> {
    return this.#ensureSubscription(this.#o.deadLetterTopic, this.#o.deadLetterTopic, false);
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    await this.#ready();
    const wire: Encoded[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const w = encode(m);
      if (w.bytes > MAX_REQUEST_BYTES - RESERVE_BYTES / 2)
        throw new MessageTooLargeError(`pubsub: message ${m.id} is over Pub/Sub's 10 MB limit`);
      wire[i] = w;
    }
    let topic: string;
    try {
      topic = await this.#declareFor(address);
    } catch (error) {
      if (error instanceof PublishError) throw error;
      throw this.#publishError(address, error);
    }
    await this.#reserve(wire.length);
    try {
      if (this.#closed) throw new ClosedError("pubsub: the adapter is closed");
      await this.#enqueue(topic, wire);
    } catch (error) {
      if (error instanceof ClosedError || error instanceof PublishError) throw error;
      throw this.#publishError(address, error);
    } finally {
      this.#unreserve(wire.length);
    }
  }

  /**
   * Queue the messages of one send on their topic's lane, as one unit when they fit in a request
   * (a `sendBatch` is then one publish request, never split between two), else one unit per
   * request's worth; resolves once every unit was published.
   */
  #enqueue(topic: string, wire: readonly Encoded[]): Promise<void> {
    let lane = this.#lanes.get(topic);
    if (!lane) this.#lanes.set(topic, (lane = { queue: [], busy: false }));
    const units: Promise<void>[] = [];
    let messages: WireMessage[] = [];
    let bytes = 0;
    const cut = () => {
      const unit = { messages, bytes } as Unit;
      units.push(
        new Promise<void>((resolve, reject) => {
          unit.resolve = resolve;
          unit.reject = reject;
        }),
      );
      lane.queue.push(unit);
      messages = [];
      bytes = 0;
    };
    for (const w of wire) {
      if (messages.length > 0 && (messages.length === MAX_BATCH || bytes + w.bytes > MAX_BATCH_BYTES)) cut();
      messages.push(w.message);
      bytes += w.bytes;
    }
    if (messages.length > 0) cut();
    this.#drain(topic, lane);
    return units.length === 1 ? units[0]! : Promise.all(units).then(() => undefined);
  }

  /** Publish what the lane holds, whole units up to a request's limits, when none is in flight. */
  #drain(topic: string, lane: Lane): void {
    if (lane.busy) return;
    if (lane.queue.length === 0) {
      this.#lanes.delete(topic);
      return;
    }
    let n = 1;
    let count = lane.queue[0]!.messages.length;
    let bytes = lane.queue[0]!.bytes;
    while (n < lane.queue.length) {
      const next = lane.queue[n]!;
      if (count + next.messages.length > MAX_BATCH || bytes + next.bytes > MAX_BATCH_BYTES) break;
      count += next.messages.length;
      bytes += next.bytes;
      n++;
    }
    const batch = lane.queue.splice(0, n);
    const messages = n === 1 ? batch[0]!.messages : batch.flatMap((u) => u.messages);
    lane.busy = true;
    this.#publish(topic, messages)
      .then(
        () => {
          for (const u of batch) u.resolve();
        },
        (error: unknown) => {
          for (const u of batch) u.reject(error);
        },
      )
      .finally(() => {
        lane.busy = false;
        this.#drain(topic, lane);
      });
  }

  /** Waits until `n` more messages may be in flight (one send larger than the limit goes alone). */
  async #reserve(n: number): Promise<void> {
    while (this.#inFlight > 0 && this.#inFlight + n > this.#o.maxInFlight)
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#inFlight += n;
  }

  #unreserve(n: number): void {
    this.#inFlight -= n;
    for (const wake of this.#waiting.splice(0)) wake();
  }

  #publishError(address: Address, error: unknown): PublishError {
    const code = codeOf(error);
    return new PublishError(
      `pubsub: publishing to ${address.kind} ${address.name} failed: ${(error as Error)?.message}`,
      {
        cause: error,
        retryable:
          code !== CODE.INVALID_ARGUMENT && code !== CODE.NOT_FOUND && code !== CODE.PERMISSION_DENIED,
      },
    );
  }

  /** The topic id to publish to, its resources declared. */
  async #declareFor(address: Address): Promise<string> {
    if (address.kind === "topic") {
      const id = topicId(address.name);
      await this.#ensureTopic(id);
      return id;
    }
    const ids = queueIds(address.name);
    if (address.name.startsWith(INBOX_PREFIX)) {
      // A reply to a request-reply inbox: never create it (the requester made it, or left).
      return ids.topic;
    }
    await this.#ensureSubscription(ids.subscription, ids.topic);
    return ids.topic;
  }

  async #publish(topic: string, messages: WireMessage[]): Promise<void> {
    const deadline = Date.now() + this.#o.publishTimeoutMs;
    let redeclared = false;
    for (;;) {
      const native = this.#native;
      if (!native || this.#closed) throw new ClosedError("pubsub: the adapter is closed");
      try {
        await native.publisher.publish(
          { topic: this.#topicPath(topic), messages },
          // The adapter batches itself (one request in flight per topic): no gax bundling delay.
          // It also retries itself, every 200 ms up to publishTimeoutMs: gax's own retries back
          // off to seconds, so a send after a broker restart waited for the next one (measured:
          // first confirm 11.6 s after the restart).
          { timeout: Math.max(100, deadline - Date.now()), isBundling: false, maxRetries: 0 },
        );
        return;
      } catch (error) {
        const code = codeOf(error);
        if (code === CODE.NOT_FOUND && !redeclared && !topic.startsWith(`omnibus.q.${INBOX_PREFIX}`)) {
          // Deleted by someone else since we declared it (or the emulator restarted): declare
          // again, publish once more.
          redeclared = true;
          this.#topics.forget(topic);
          if (topic.startsWith("omnibus.q.")) {
            this.#subscriptions.forget(topic);
            await this.#ensureSubscription(topic, topic);
          } else await this.#ensureTopic(topic);
          continue;
        }
        const transient =
          code === CODE.UNAVAILABLE || code === CODE.DEADLINE_EXCEEDED || code === 10 || code === 13;
        if (!transient || Date.now() + 200 >= deadline) throw error;
        await delay(200);
      }
    }
  }

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    const native = await this.#ready();
    let topic: string;
    let subscription: string;
    if (source.kind === "queue") {
      const ids = queueIds(source.name);
      topic = ids.topic;
      subscription = ids.subscription;
    } else {
      topic = topicId(source.name);
      subscription = groupSubscriptionId(source.name, source.group);
    }
    await this.#ensureSubscription(subscription, topic);
    const ephemeral = source.kind === "queue" && source.ephemeral === true;
    const consumer: PullConsumer = new PullConsumer(
      {
        client: native.subscriber,
        subscription: this.#subscriptionPath(subscription),
        leaseMs: this.#o.leaseMs,
        logger: this.#logger,
        recreate: async () => {
          this.#subscriptions.forget(subscription);
          this.#topics.forget(topic);
          await this.#ensureSubscription(subscription, topic);
        },
        onClosed: async () => {
          this.#consumers.delete(consumer);
          if (ephemeral) await this.#deleteQueueIds(topic, subscription);
        },
      },
      options,
    );
    this.#consumers.add(consumer);
    return consumer;
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    await this.#ready();
    await this.#ensureSubscription(groupSubscriptionId(topic, group), topicId(topic));
  }

  async #deleteSubscription(id: string): Promise<void> {
    this.#subscriptions.forget(id);
    await this.#native!.subscriber.deleteSubscription({ subscription: this.#subscriptionPath(id) }).catch(
      (e: unknown) => {
        if (codeOf(e) !== CODE.NOT_FOUND) throw e;
      },
    );
  }

  async #deleteTopicId(id: string): Promise<void> {
    this.#topics.forget(id);
    await this.#native!.publisher.deleteTopic({ topic: this.#topicPath(id) }).catch((e: unknown) => {
      if (codeOf(e) !== CODE.NOT_FOUND) throw e;
    });
  }

  async #deleteQueueIds(topic: string, subscription: string): Promise<void> {
    if (!this.#native) return;
    await this.#deleteSubscription(subscription);
    await this.#deleteTopicId(topic);
  }

  async deleteQueue(name: string): Promise<void> {
    await this.#ready();
    const ids = queueIds(name);
    await this.#deleteQueueIds(ids.topic, ids.subscription);
  }

  async deleteTopic(topic: string): Promise<void> {
    const native = await this.#ready();
    const id = topicId(topic);
    let subscriptions: string[] = [];
    try {
      [subscriptions] = await native.publisher.listTopicSubscriptions({ topic: this.#topicPath(id) });
    } catch (error) {
      if (codeOf(error) !== CODE.NOT_FOUND) throw error;
    }
    // Every subscription of the topic, ours or not: Pub/Sub would keep them, detached.
    for (const path of subscriptions) await this.#deleteSubscription(path.slice(path.lastIndexOf("/") + 1));
    await this.#deleteTopicId(id);
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    await this.#ready();
    await this.#deleteSubscription(groupSubscriptionId(topic, group));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#consumers].map((c) => c.close()));
    const native = this.#native;
    this.#native = undefined;
    if (native)
      await Promise.allSettled([native.publisher.close(), native.subscriber.close(), native.pubsub.close()]);
  }
}
