/**
 * The `Adapter` of the skeleton: features, connect, send, consume, close.
 * @module
 */
import {
  type Adapter,
  type Address,
  ClosedError,
  type ConsumeOptions,
  type ConsumerHandle,
  consoleLogger,
  type Features,
  INBOX_PREFIX,
  type Logger,
  MessageTooLargeError,
  type OutboundMessage,
  PublishError,
  type Source,
} from "@omnibus/core";
import { SkeletonConsumer } from "./consumer.js";
import { queueKey, type Store, storeNamed } from "./store.js";

/** Options of {@link skeleton}. */
export interface SkeletonOptions {
  name?: string; // the store to join: adapters of one name share it (default "default")
  leaseMs?: number; // visibility lease, extended while a handler runs (default 30 000)
  logger?: Logger; // a logger of its own; without one, the client's (useLogger)
}

/** The escape hatch (`adapter.native`); a real adapter exposes its broker client here. */
export type SkeletonNative = { readonly store: Store | undefined };

/** TODO(broker): your broker's limit per message, whatever it counts (here: the whole record). */
const BROKER_LIMIT_BYTES = 256 * 1024;
/** Room for what core does not count against `maxMessageBytes`: id, key, correlationId, replyTo. */
const ENVELOPE_RESERVE_BYTES = 1024;

/** What the broker stores for `m`: body, headers, and the envelope fields core does not count. */
function storedBytes(m: OutboundMessage): number {
  let n = m.body.byteLength + 8; // + the timestamp
  for (const [k, v] of Object.entries(m.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  for (const field of [m.id, m.key, m.correlationId, m.replyTo]) if (field) n += Buffer.byteLength(field);
  return n;
}

export class SkeletonAdapter implements Adapter<SkeletonNative> {
  readonly name = "skeleton";
  /** Declare only what passes the conformance suite: every `true` is tested. */
  readonly features: Features = Object.freeze({
    persistent: false, // in process: nothing survives a restart
    fanout: true,
    orderingByKey: true, // one list in send order, handed out oldest first
    delay: true,
    maxDelayMs: 15 * 60 * 1000,
    priority: false, // core rejects `priority` at the call site; the priority cases are skipped
    maxPriority: 0,
    // Core holds body + header names and values to this; our envelope must fit on top.
    maxMessageBytes: BROKER_LIMIT_BYTES - ENVELOPE_RESERVE_BYTES,
    maxBatchSize: 10, // core splits larger batches
  });
  readonly #options: SkeletonOptions;
  readonly #consumers = new Set<SkeletonConsumer>();
  #logger: Logger;
  #store: Store | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(options: SkeletonOptions) {
    this.#options = options;
    this.#logger = options.logger ?? consoleLogger("warn");
  }

  get native(): SkeletonNative {
    return { store: this.#store };
  }

  /** Core passes the client's logger before connect(); one given by option wins. */
  useLogger(logger: Logger): void {
    if (!this.#options.logger) this.#logger = logger;
  }

  /** Idempotent, also when called concurrently: one attempt at a time, a failed one not cached. */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("skeleton: the adapter is closed"));
    this.#connecting ??= (async () => {
      // TODO(broker): connect with a deadline of your own; throw ConnectionError (unreachable) or
      // ConfigError (bad credentials) with the client's error as `cause`. Core's error classes
      // mask URL passwords in messages and causes; keep them out of other properties too.
      this.#store = storeNamed(this.#options.name ?? "default");
    })();
    this.#connecting.catch(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #ready(): Promise<Store> {
    if (this.#closed) throw new ClosedError("skeleton: the adapter is closed");
    await this.connect();
    return this.#store!;
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    const store = await this.#ready();
    for (const m of messages) {
      // All checked before any is stored: a batch that cannot go whole sends nothing.
      if (storedBytes(m) > BROKER_LIMIT_BYTES)
        throw new MessageTooLargeError(`skeleton: message ${m.id} is over ${BROKER_LIMIT_BYTES} bytes`);
    }
    if (
      address.kind === "queue" &&
      address.name.startsWith(INBOX_PREFIX) &&
      !store.has(queueKey(address.name))
    )
      // A reply to a request-reply inbox that is gone: refuse rather than make a queue nobody reads.
      throw new PublishError(`skeleton: inbox ${address.name} does not exist`, { retryable: false });
    for (const m of messages) {
      // Copy the body: the sender may reuse its buffer once send() resolved.
      const copy: OutboundMessage = { ...m, body: new Uint8Array(m.body), headers: { ...m.headers } };
      // TODO(broker): publish, and resolve only on the broker's confirm; apply back-pressure
      // (await the client's drain, bound the messages in flight) rather than buffer without end.
      if (address.kind === "queue") store.enqueue(queueKey(address.name), copy);
      else store.publish(address.name, copy);
    }
  }

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    const store = await this.#ready();
    // Declare what the source needs first. TODO(broker): create the queue / group / binding.
    const key =
      source.kind === "queue"
        ? store.declare(queueKey(source.name))
        : store.declareGroup(source.name, source.group);
    const consumer: SkeletonConsumer = new SkeletonConsumer(
      {
        store,
        key,
        ephemeral: source.kind === "queue" && source.ephemeral === true,
        leaseMs: this.#options.leaseMs ?? 30_000,
        logger: this.#logger,
        onClosed: () => this.#consumers.delete(consumer),
      },
      options,
    );
    this.#consumers.add(consumer);
    return consumer;
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    (await this.#ready()).declareGroup(topic, group);
  }

  async deleteQueue(name: string): Promise<void> {
    (await this.#ready()).deleteQueue(queueKey(name));
  }

  /** Idempotent. TODO(broker): delete the topic and whatever its groups are on the broker. */
  async deleteTopic(topic: string): Promise<void> {
    (await this.#ready()).deleteTopic(topic);
  }

  /** Idempotent; the topic's other groups stay. TODO(broker): delete the group's queue/consumer. */
  async deleteGroup(topic: string, group: string): Promise<void> {
    (await this.#ready()).deleteGroup(topic, group);
  }

  /** Idempotent. Open consumers give back what they hold. TODO(broker): close the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.close()));
  }
}
