import { randomUUID } from "node:crypto";
import {
  type Adapter,
  type Address,
  ClosedError,
  INBOX_PREFIX as CORE_INBOX_PREFIX,
  ConfigError,
  ConnectionError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Features,
  type InboundMessage,
  MessageTooLargeError,
  type OutboundMessage,
  PublishError,
  type Source,
  type SourceStats,
} from "@omnibus/core";
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { RabbitConsumer } from "./consumer.js";
import { amqpCode, BrokerTimeout, dropSocket, Link, type Publisher, within } from "./link.js";
import { groupQueueName, groupRegistryName, internalNames, queueName, topicExchange } from "./names.js";
import { type RabbitMQOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { amqpQueueStats } from "./stats.js";
import {
  delayBucket,
  headerTableBytes,
  messageBytes,
  overlongField,
  publishOptions,
  toBuffer,
} from "./wire.js";

/** The escape hatch: amqplib's own objects of the current connection. */
export interface RabbitMQNative {
  /** The amqplib connection (`ChannelModel`). Replaced after a reconnect. */
  readonly connection: ChannelModel;
  /** The confirm channel sends go through. Replaced after a reconnect. */
  readonly channel: ConfirmChannel;
}

/** The adapter {@link rabbitmq} returns: the SPI, with the optional parts always present. */
export interface RabbitMQAdapter extends Adapter<RabbitMQNative>, AsyncDisposable {
  /**
   * The broker's version (`connection.start` server property `version`, e.g. "3.10.8") of the
   * last connection; undefined before the first connect.
   */
  readonly serverVersion: string | undefined;
  ensureGroup(topic: string, group: string): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  deleteTopic(topic: string): Promise<void>;
  deleteGroup(topic: string, group: string): Promise<void>;
  /** Ready messages of the queue (a passive declare); `inFlight` is not reported over AMQP. */
  stats(source: Source): Promise<SourceStats>;
  /**
   * The AMQP queue that holds a topic group's messages: `<topic>..<group>` (see the README's
   * "Names"), so that no group queue is ever a plain queue or another topic's group.
   */
  groupQueue(topic: string, group: string): string;
}

/** Largest delay: RabbitMQ's TTLs are 32-bit millisecond timers; 2^31 - 1 ms is about 24.8 days. */
export const MAX_DELAY_MS = 2_147_483_647;

/**
 * Queues whose names start with this are core's request-reply inboxes: exclusive queues of
 * another client. A send never declares them (a reply to an inbox that is gone must fail, not
 * create a durable orphan queue).
 */
export const INBOX_PREFIX = CORE_INBOX_PREFIX;

/** Headers of amqplib's connection `clientProperties`. */
const CLIENT_PRODUCT = "@omnibus/rabbitmq";

/** How long closing waits for the copies consumers are republishing (at most half its bound). */
const CLOSE_SETTLE_MS = 5_000;

/** A wait queue's lease (`x-expires`) outlives its TTL by this much; it is renewed well before. */
const WAIT_QUEUE_SLACK_MS = 10 * 60_000;
const WAIT_QUEUE_RENEW_MS = 5 * 60_000;

interface Route {
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function delayOf(m: OutboundMessage): number {
  return m.delayMs !== undefined && m.delayMs > 0 ? m.delayMs : 0;
}

function hasDelay(messages: readonly OutboundMessage[]): boolean {
  for (const m of messages) if (m.delayMs !== undefined && m.delayMs > 0) return true;
  return false;
}

function describeAddress(address: Address): string {
  return `${address.kind} ${address.name}`;
}

function describeSource(source: Source): string {
  return source.kind === "queue" ? `queue ${source.name}` : `topic ${source.name} group ${source.group}`;
}

/** The broker did not answer, or the connection went while waiting: retry later. */
function connectionTrouble(error: unknown): boolean {
  if (error instanceof BrokerTimeout || error instanceof ConnectionError) return true;
  // A server error (403, 404, 406…) carries its reply code; a lost connection or channel does not.
  return (
    amqpCode(error) === undefined &&
    /closed|closing|ended|ECONNRESET|EPIPE|socket/i.test((error as Error | null)?.message ?? "")
  );
}

class RabbitMQAdapterImpl implements RabbitMQAdapter {
  readonly name = "rabbitmq";
  readonly features: Features;
  readonly #o: ResolvedOptions;
  #link: Link | undefined;
  #connecting: Promise<Link> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #consumers = new Set<RabbitConsumer>();
  /** AMQP names of the queues this adapter deleted (its consumers must not bring them back). */
  readonly #deleted = new Set<string>();
  /** AMQP names of the ephemeral queues this adapter declared. */
  readonly #ephemeral = new Set<string>();
  readonly #internal: ReturnType<typeof internalNames>;
  #serverVersion: string | undefined;

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.#internal = internalNames(options.namespace);
    this.#epoch = this.#internal.epoch(randomUUID().replace(/-/g, ""));
    this.features = Object.freeze({
      persistent: true,
      fanout: true,
      orderingByKey: true,
      delay: true,
      maxDelayMs: MAX_DELAY_MS,
      priority: options.maxPriority > 0,
      maxPriority: options.maxPriority,
      maxMessageBytes: options.maxMessageBytes,
      maxBatchSize: options.maxBatchSize,
    });
  }

  get serverVersion(): string | undefined {
    return this.#serverVersion;
  }

  /** Bounds the consumers use (see {@link ConsumerHost}). */
  get operationTimeoutMs(): number {
    return this.#o.operationTimeoutMs;
  }

  get closeTimeoutMs(): number {
    return this.#o.closeTimeoutMs;
  }

  get native(): RabbitMQNative {
    const link = this.#link;
    if (!link) throw new ConfigError("rabbitmq: not connected: await adapter.connect() first");
    return { connection: link.connection, channel: link.publisherChannel };
  }

  /** The resolved options (tests, diagnostics). The URL in it is never masked: do not print it. */
  get options(): ResolvedOptions {
    return this.#o;
  }

  // ------------------------------------------------------------------ connection

  /** Connects; while reconnecting, waits at most `connectTimeoutMs` for the new connection. */
  async connect(): Promise<void> {
    if (this.#link?.open) return;
    const ms = this.#o.connectTimeoutMs;
    await this.#linkWithin(
      "connect",
      ms + 1_000,
      () =>
        new ConnectionError(`rabbitmq: no connection to ${this.#o.safeUrl} within ${ms} ms (reconnecting)`),
    );
  }

  currentLink(): Link | undefined {
    return this.#link?.open ? this.#link : undefined;
  }

  #ensureLink(): Promise<Link> {
    if (this.#closed) return Promise.reject(new ClosedError("rabbitmq: the adapter is closed"));
    const link = this.#link;
    if (link?.open) return Promise.resolve(link);
    if (!this.#connecting) {
      const connecting = this.#open();
      this.#connecting = connecting;
      connecting.then(
        () => {
          if (this.#connecting === connecting) this.#connecting = undefined;
        },
        () => {
          if (this.#connecting === connecting) this.#connecting = undefined;
        },
      );
    }
    return this.#connecting;
  }

  /**
   * Wait for a link, at most `waitMs` (default `sendWaitMs`: sends during a reconnect), then a
   * retryable `ConnectionError` (or what `onTimeout` makes).
   */
  async #linkWithin(what: string, waitMs = this.#o.sendWaitMs, onTimeout?: () => Error): Promise<Link> {
    const link = this.#link;
    if (link?.open) return link;
    return within(
      this.#ensureLink(),
      Math.max(1, waitMs),
      onTimeout ??
        (() =>
          new ConnectionError(
            `rabbitmq: ${what}: no connection to ${this.#o.safeUrl} within ${waitMs} ms (reconnecting)`,
          )),
    );
  }

  /**
   * An operation (consume, ensureGroup, deleteQueue) within `operationTimeoutMs`: the wait for
   * a connection and every broker answer included; a retryable `ConnectionError` after it.
   */
  async #operation<T>(what: string, run: (link: Link) => Promise<T>, onTimeout?: () => void): Promise<T> {
    const ms = this.#o.operationTimeoutMs;
    const timeout = () =>
      new ConnectionError(`rabbitmq: ${what}: not done within ${ms} ms (${this.#o.safeUrl} did not answer)`);
    const deadline = Date.now() + ms;
    const link = await this.#linkWithin(what, ms, timeout);
    return within(run(link), Math.max(1, deadline - Date.now()), () => {
      onTimeout?.();
      return timeout();
    });
  }

  /** A cluster's node to try first on the next connect: the one after the node last lost. */
  #nextNode = 0;

  /** A connection to the first node of `urls` that answers, from {@link #nextNode} on. */
  async #connectAny(): Promise<ChannelModel> {
    const urls = this.#o.urls;
    let failure: unknown;
    for (let k = 0; k < urls.length; k++) {
      const at = (this.#nextNode + k) % urls.length;
      try {
        const connection = await amqp.connect(urls[at]!, {
          ...this.#o.socketOptions,
          noDelay: true,
          timeout: this.#o.connectTimeoutMs,
          clientProperties: { connection_name: this.#o.connectionName, product: CLIENT_PRODUCT },
        });
        // When this node is lost, the reconnect starts with the next one.
        this.#nextNode = (at + 1) % urls.length;
        return connection;
      } catch (error) {
        failure = error;
        const code = amqpCode(error);
        if (code === 403 || /ACCESS.REFUSED|403/.test((error as Error)?.message ?? "")) break;
      }
    }
    throw failure;
  }

  async #open(): Promise<Link> {
    let connection: ChannelModel;
    try {
      connection = await this.#connectAny();
    } catch (error) {
      const code = amqpCode(error);
      const reason = (error as Error)?.message ?? String(error);
      const auth = code === 403 || /ACCESS.REFUSED|403/.test(reason);
      throw new ConnectionError(`rabbitmq: cannot connect to ${this.#o.safeUrl}: ${reason}`, {
        cause: error,
        retryable: !auth,
      });
    }
    // At once, before any other await: amqplib emits 'error' on a lost socket or a heartbeat
    // timeout (also on a connection dropped below when its channel does not open), and an
    // 'error' without a listener would crash the process.
    connection.on("error", () => {
      // 'close' follows; reconnect happens there.
    });
    let publisher: ConfirmChannel;
    try {
      const ms = this.#o.operationTimeoutMs;
      publisher = await within(
        connection.createConfirmChannel(),
        ms,
        () => new BrokerTimeout("opening the publisher channel", ms),
      );
    } catch (error) {
      dropSocket(connection);
      throw new ConnectionError(`rabbitmq: cannot open a channel on ${this.#o.safeUrl}`, { cause: error });
    }
    const restarted = await this.#brokerRestarted(connection);
    const link = new Link(connection, publisher, this.#o.operationTimeoutMs);
    link.brokerRestarted = restarted;
    this.#serverVersion = link.serverVersion ?? this.#serverVersion;
    connection.on("close", () => this.#lost(link));
    if (this.#closed) {
      link.open = false;
      await within(connection.close(), this.#o.closeTimeoutMs, () => new Error("close")).catch(() =>
        dropSocket(connection),
      );
      throw new ClosedError("rabbitmq: the adapter is closed");
    }
    this.#link = link;
    return link;
  }

  /** Whether this adapter declared its epoch exchange on an earlier connection. */
  #epochDeclared = false;
  /**
   * This adapter's epoch exchange: its own (with a shared one, another client declaring it first
   * after a restart hid the restart from the rest).
   */
  readonly #epoch: string;

  /**
   * Whether the broker restarted since this adapter's previous connection: its transient epoch
   * exchange (declared on every connect, without messages or bindings) is gone. `false` when
   * unknown (first connection, no permission to declare it, no answer).
   */
  async #brokerRestarted(connection: ChannelModel): Promise<boolean> {
    const name = this.#epoch;
    const ms = this.#o.operationTimeoutMs;
    const timeout = () => new BrokerTimeout("the epoch exchange", ms);
    const channel = async () => {
      const opening = connection.createChannel();
      const ch = await within(opening, ms, () => {
        opening.then(
          (c) => c.close().catch(() => {}),
          () => {},
        );
        return timeout();
      });
      ch.on("error", () => {});
      return ch;
    };
    const done = (ch: { close(): Promise<void> }) => {
      ch.close().catch(() => {});
    };
    try {
      let restarted = false;
      if (this.#epochDeclared) {
        const check = await channel();
        try {
          await within(check.checkExchange(name), ms, timeout);
          done(check);
        } catch (error) {
          // A 404 closes the channel; anything else: unknown.
          if (amqpCode(error) !== 404) {
            done(check);
            return false;
          }
          restarted = true;
        }
      }
      const declare = await channel();
      await within(
        declare.assertExchange(name, "fanout", { durable: false, autoDelete: false }),
        ms,
        timeout,
      );
      done(declare);
      this.#epochDeclared = true;
      return restarted;
    } catch {
      return false;
    }
  }

  #lost(link: Link): void {
    link.open = false;
    if (this.#link === link) this.#link = undefined;
    if (this.#closed) return;
    const reconnect = this.#o.reconnect;
    if (reconnect === false) {
      const error = new ConnectionError(`rabbitmq: lost the connection to ${this.#o.safeUrl}`);
      for (const c of this.#consumers) c.fail(error);
      return;
    }
    if (this.#connecting) return;
    const loop = this.#reconnectLoop(reconnect);
    this.#connecting = loop;
    loop.then(
      () => {
        if (this.#connecting === loop) this.#connecting = undefined;
      },
      () => {
        if (this.#connecting === loop) this.#connecting = undefined;
      },
    );
  }

  async #reconnectLoop(r: {
    initialDelayMs: number;
    maxDelayMs: number;
    giveUpAfterMs: number;
  }): Promise<Link> {
    const started = Date.now();
    let delay = r.initialDelayMs;
    let lastError: unknown;
    for (;;) {
      await sleep(delay);
      if (this.#closed) throw new ClosedError("rabbitmq: the adapter is closed");
      try {
        const link = await this.#open();
        for (const c of this.#consumers) void c.resume();
        return link;
      } catch (error) {
        if (error instanceof ClosedError) throw error;
        lastError = error;
      }
      if (Date.now() - started >= r.giveUpAfterMs) {
        const error = new ConnectionError(
          `rabbitmq: gave up reconnecting to ${this.#o.safeUrl} after ${Date.now() - started} ms`,
          { cause: lastError },
        );
        for (const c of this.#consumers) c.fail(error);
        throw error;
      }
      delay = Math.min(r.maxDelayMs, delay * 2);
    }
  }

  // ------------------------------------------------------------------ topology

  #queueArguments(): Record<string, unknown> {
    const args: Record<string, unknown> = {};
    if (this.#o.queueType === "quorum") args["x-queue-type"] = "quorum";
    if (this.#o.maxPriority > 0) args["x-max-priority"] = this.#o.maxPriority;
    if (this.#o.singleActiveConsumer) args["x-single-active-consumer"] = true;
    return args;
  }

  /**
   * Declare a durable queue. One that exists with other arguments (406) or exclusively for
   * another connection (405, e.g. another client's reply inbox) is used as it is.
   */
  #ensureQueue(link: Link, name: string, forConsume: boolean): Promise<void> {
    return link.once(`q:${name}`, async () => {
      try {
        await link.declare((ch) =>
          ch.assertQueue(name, { durable: true, arguments: this.#queueArguments() }),
        );
      } catch (error) {
        const code = amqpCode(error);
        if (code === 405) {
          if (forConsume) {
            throw new ConfigError(`rabbitmq: queue ${name} is exclusive to another connection`, {
              cause: error,
            });
          }
          return;
        }
        if (code !== 406) throw error;
        // Exists with other arguments (type, priority…): use it as it is.
        await link.declare((ch) => ch.checkQueue(name));
      }
    });
  }

  /** Declare the fanout exchange `exchange` (the AMQP name of a topic). */
  #ensureExchange(link: Link, exchange: string): Promise<void> {
    return link.once(`x:${exchange}`, () =>
      this.#assertExchange(link, exchange, "fanout", { durable: true }),
    );
  }

  /** The queue of a topic group. */
  groupQueue(topic: string, group: string): string {
    return groupQueueName(topic, group);
  }

  async #ensureGroup(link: Link, topic: string, group: string): Promise<string> {
    const queue = groupQueueName(topic, group);
    const exchange = topicExchange(topic);
    await this.#ensureExchange(link, exchange);
    await this.#ensureQueue(link, queue, true);
    await link.once(`b:${exchange}>${queue}`, () =>
      link.declare((ch) => ch.bindQueue(queue, exchange, "")).then(() => {}),
    );
    await this.#registerGroup(link, topic, group);
    return queue;
  }

  /**
   * Note `group` in the topic's group registry (once per connection), for `deleteTopic`. Best
   * effort: a record lost means a group queue `deleteTopic` leaves behind, never a failed call.
   */
  #registerGroup(link: Link, topic: string, group: string): Promise<void> {
    const registry = groupRegistryName(topic);
    return link
      .once(`r:${registry}>${group}`, async () => {
        await link.declare((ch) => ch.assertQueue(registry, { durable: true }));
        await link.declare(async (ch) => {
          ch.sendToQueue(registry, Buffer.from(group), { persistent: true });
        });
      })
      .catch(() => {
        // The group is declared; only deleteTopic will not know it (the next connection notes it).
      });
  }

  /** The groups noted in the registry of `topic` (emptying it). */
  async #registeredGroups(link: Link, topic: string): Promise<Set<string>> {
    const registry = groupRegistryName(topic);
    const groups = new Set<string>();
    await link.declare((ch) => ch.assertQueue(registry, { durable: true }));
    for (;;) {
      const message = await link.declare((ch) => ch.get(registry, { noAck: true }));
      if (message === false) break;
      groups.add(message.content.toString("utf8"));
    }
    return groups;
  }

  /**
   * The wait queue of one delay bucket: a durable queue of the adapter's queue type with
   * `x-message-ttl` = the bucket and a dead-letter exchange (at-least-once dead-lettering when
   * quorum), fed by a fanout exchange of the same name. A message published to it with routing
   * key R is dead-lettered after the TTL with routing key R: to the default exchange (R = the
   * origin queue) for queues, to `<ns>.delay.topics` (R = the topic, bound to the topic's
   * exchange) for topics. A wait queue declared by a client of the other queue type is used as
   * it is. Unused wait queues expire (`x-expires`); every use renews the lease well before it
   * runs out.
   */
  async #ensureWait(link: Link, bucket: number, kind: "queue" | "topic"): Promise<string> {
    const names = this.#internal;
    const name = kind === "queue" ? names.waitQueue(bucket) : names.waitTopic(bucket);
    const key = `w:${name}`;
    const renewed = link.leases.get(name);
    if (renewed !== undefined && Date.now() - renewed > WAIT_QUEUE_RENEW_MS) link.forget(key);
    await link.once(key, async () => {
      const args: Record<string, unknown> = {
        "x-message-ttl": bucket,
        "x-dead-letter-exchange": kind === "queue" ? "" : names.topicReturn,
        "x-overflow": "reject-publish",
        "x-expires": bucket + WAIT_QUEUE_SLACK_MS,
      };
      if (this.#o.queueType === "quorum") {
        args["x-queue-type"] = "quorum";
        args["x-dead-letter-strategy"] = "at-least-once"; // quorum queues only
      }
      const at = Date.now();
      await this.#assertExchange(link, name, "fanout", { durable: true, autoDelete: true });
      try {
        await link.declare((ch) => ch.assertQueue(name, { durable: true, arguments: args }));
      } catch (error) {
        if (amqpCode(error) !== 406) throw error;
        await link.declare((ch) => ch.checkQueue(name)); // declared differently by an older client
      }
      await link.declare((ch) => ch.bindQueue(name, name, ""));
      link.leases.set(name, at);
    });
    return name;
  }

  /** Declare an exchange; one that exists as another type (406) is used as it is. */
  async #assertExchange(
    link: Link,
    name: string,
    type: "fanout" | "direct",
    options: { durable: boolean; autoDelete?: boolean },
  ): Promise<void> {
    try {
      await link.declare((ch) => ch.assertExchange(name, type, options));
    } catch (error) {
      if (amqpCode(error) !== 406) throw error;
      await link.declare((ch) => ch.checkExchange(name));
    }
  }

  /**
   * For delayed topic sends: `<ns>..delay..topics` (direct) routes back to the topic's exchange,
   * bound with the exchange's name as routing key.
   */
  #ensureTopicReturn(link: Link, exchange: string): Promise<void> {
    const hub = this.#internal.topicReturn;
    return link.once(`t:${exchange}`, async () => {
      await this.#ensureExchange(link, exchange);
      await this.#assertExchange(link, hub, "direct", { durable: true });
      await link.declare((ch) => ch.bindExchange(exchange, hub, exchange));
    });
  }

  /** Declare what a consumer's source needs; returns the queue to consume. */
  async declareSource(link: Link, source: Source): Promise<string> {
    if (source.kind === "topic") return this.#ensureGroup(link, source.name, source.group);
    const queue = queueName(source.name);
    this.#deleted.delete(queue);
    if (source.ephemeral) {
      this.#ephemeral.add(queue);
      await link.once(`q:${queue}`, async () => {
        await link.declare((ch) =>
          ch.assertQueue(queue, { durable: false, exclusive: true, autoDelete: true }),
        );
      });
      return queue;
    }
    await this.#ensureQueue(link, queue, true);
    return queue;
  }

  async #route(link: Link, address: Address, delayMs: number): Promise<Route> {
    if (address.kind === "queue") {
      const queue = queueName(address.name);
      if (
        !address.name.startsWith(INBOX_PREFIX) &&
        !this.#ephemeral.has(queue) &&
        !link.ready.has(`q:${queue}`)
      ) {
        await this.#ensureQueue(link, queue, false);
      }
      if (delayMs <= 0) return { exchange: "", routingKey: queue, mandatory: true };
      const wait = await this.#ensureWait(link, delayBucket(delayMs), "queue");
      return { exchange: wait, routingKey: queue, mandatory: true };
    }
    const exchange = topicExchange(address.name);
    if (delayMs <= 0) {
      if (!link.ready.has(`x:${exchange}`)) await this.#ensureExchange(link, exchange);
      return { exchange, routingKey: "", mandatory: false };
    }
    await this.#ensureTopicReturn(link, exchange);
    const wait = await this.#ensureWait(link, delayBucket(delayMs), "topic");
    return { exchange: wait, routingKey: exchange, mandatory: true };
  }

  // ------------------------------------------------------------------ sending

  /**
   * Resolves on the broker's confirm of every message; rejects with a retryable `PublishError`
   * when they are not all confirmed within `sendTimeoutMs` (whatever the broker does).
   */
  send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    try {
      this.#check(messages);
    } catch (error) {
      return Promise.reject(error);
    }
    // Fast path: connected, destination declared, publisher open: publish without awaiting.
    const link = this.#link;
    const publisher = link?.open ? link.publisherNow : undefined;
    if (link && publisher && !hasDelay(messages)) {
      const route = this.#readyRoute(link, address);
      if (route)
        return this.#bounded(this.#publishAll(publisher, address, route, messages), address, messages);
    }
    return this.#bounded(this.#sendSlow(address, messages), address, messages);
  }

  #bounded(sent: Promise<void>, address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    const ms = this.#o.sendTimeoutMs;
    return within(
      sent,
      ms,
      () =>
        new PublishError(
          `rabbitmq: send to ${describeAddress(address)}: no confirm for ${messages.length} message(s) within ${ms} ms (sendTimeoutMs); they may or may not have been stored`,
          { retryable: true },
        ),
    );
  }

  #check(messages: readonly OutboundMessage[]): void {
    if (messages.length > this.#o.maxBatchSize) {
      throw new ConfigError(
        `rabbitmq: at most ${this.#o.maxBatchSize} messages per send, got ${messages.length}`,
      );
    }
    for (const m of messages) {
      // Checked before anything is published: amqplib's encoder throws on these only once the
      // confirm callback of the message was queued.
      const overlong = overlongField(m);
      if (overlong !== undefined) {
        throw new ConfigError(
          `rabbitmq: the ${overlong} of message ${m.id.slice(0, 80)} is over 255 bytes (an AMQP short string)`,
        );
      }
      if (!(m.timestamp >= 0) || !Number.isFinite(m.timestamp)) {
        throw new ConfigError(`rabbitmq: message ${m.id}: timestamp must be a finite number >= 0`);
      }
      const p = m.priority;
      if (p !== undefined && !(Number.isInteger(p) && p >= 0 && p <= 255)) {
        throw new ConfigError(`rabbitmq: message ${m.id}: priority must be an integer within 0..255`);
      }
      const size = messageBytes(m);
      if (size > this.#o.maxMessageBytes) {
        throw new MessageTooLargeError(
          `rabbitmq: message ${m.id} of ${size} bytes exceeds the limit of ${this.#o.maxMessageBytes} bytes`,
        );
      }
      // The header table (with the key) must fit amqplib's 64 KiB scratch buffer.
      const keyBound = m.key === undefined ? 0 : 3 * m.key.length;
      if (size - m.body.byteLength + keyBound > 30_000) {
        const table =
          headerTableBytes(m.headers) + (m.key === undefined ? 0 : 64 + Buffer.byteLength(m.key)) + 64;
        if (table > 60_000) {
          throw new MessageTooLargeError(
            `rabbitmq: the headers and key of message ${m.id} exceed 60000 bytes (${table} bytes)`,
          );
        }
      }
    }
  }

  /** The route of an undelayed send when everything it needs is declared on `link`. */
  #readyRoute(link: Link, address: Address): Route | undefined {
    if (address.kind === "queue") {
      const queue = queueName(address.name);
      if (
        link.ready.has(`q:${queue}`) ||
        address.name.startsWith(INBOX_PREFIX) ||
        this.#ephemeral.has(queue)
      ) {
        return { exchange: "", routingKey: queue, mandatory: true };
      }
      return undefined;
    }
    const exchange = topicExchange(address.name);
    return link.ready.has(`x:${exchange}`) ? { exchange, routingKey: "", mandatory: false } : undefined;
  }

  #publishAll(
    publisher: Publisher,
    address: Address,
    route: Route | ((m: OutboundMessage) => Route),
    messages: readonly OutboundMessage[],
  ): Promise<void> {
    const what = () => `rabbitmq: send to ${describeAddress(address)}`;
    if (messages.length === 1 && typeof route !== "function" && !publisher.blocked) {
      const m = messages[0]!;
      const { confirmed } = publisher.publish(
        route.exchange,
        route.routingKey,
        toBuffer(m.body),
        publishOptions(m, route.mandatory),
        what,
      );
      return confirmed; // if this filled the write buffer, the next send waits for it to drain
    }
    return (async () => {
      const confirms: Promise<void>[] = [];
      for (const m of messages) {
        if (publisher.blocked) await publisher.drained();
        const r = typeof route === "function" ? route(m) : route;
        const { confirmed, full } = publisher.publish(
          r.exchange,
          r.routingKey,
          toBuffer(m.body),
          publishOptions(m, r.mandatory),
          what,
        );
        confirms.push(confirmed);
        if (full) await publisher.drained();
      }
      await Promise.all(confirms);
    })();
  }

  async #sendSlow(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    const link = await this.#linkWithin(`send to ${describeAddress(address)}`);
    const routes = new Map<number, Route>();
    try {
      for (const m of messages) {
        const delay = delayOf(m);
        if (!routes.has(delay)) routes.set(delay, await this.#route(link, address, delay));
      }
    } catch (error) {
      throw this.#declareError(error, describeAddress(address));
    }
    let publisher = link.publisherNow;
    if (!publisher) {
      try {
        publisher = await link.publisher();
      } catch (error) {
        throw new PublishError(`rabbitmq: send to ${describeAddress(address)}: cannot open a channel`, {
          cause: error,
        });
      }
    }
    const only = routes.size === 1 ? routes.values().next().value! : undefined;
    await this.#publishAll(publisher, address, only ?? ((m) => routes.get(delayOf(m))!), messages);
  }

  #declareError(error: unknown, what: string): Error {
    if (error instanceof ConfigError || error instanceof ClosedError) return error;
    const code = amqpCode(error);
    if (code === 403) {
      return new ConfigError(`rabbitmq: access refused declaring ${what}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new PublishError(`rabbitmq: cannot declare ${what}: ${(error as Error)?.message ?? error}`, {
      cause: error,
    });
  }

  /**
   * nack (and renumbering, see the consumer): a copy of `body` with `attempt` goes back to the
   * AMQP queue `queue`, through a wait queue when delayed. If the wait queue cannot be used, the
   * copy goes straight back (sooner than asked, never lost). `alive` is asked before the copy
   * is published: once the delivery's channel is gone the broker redelivers the original, so no
   * copy is published then (resolves false). Resolves true once the broker confirmed the copy.
   */
  async republish(
    queue: string,
    body: Buffer,
    msg: ConsumeMessage,
    inbound: InboundMessage,
    attempt: number,
    delayMs: number,
    alive: () => boolean,
  ): Promise<boolean> {
    const link = await this.#linkWithin(`redeliver to queue ${queue}`);
    if (!alive()) return false;
    const priority = msg.properties.priority;
    const options = publishOptions(
      { ...inbound, priority: typeof priority === "number" ? priority : undefined },
      true,
      attempt,
    );
    const what = () => `rabbitmq: redeliver to queue ${queue}`;
    const ms = this.#o.sendTimeoutMs;
    const confirmed = (p: Promise<void>) =>
      within(p, ms, () => new PublishError(`${what()}: no confirm within ${ms} ms (sendTimeoutMs)`));
    if (delayMs > 0) {
      try {
        const wait = await this.#ensureWait(link, delayBucket(delayMs), "queue");
        const publisher = link.publisherNow ?? (await link.publisher());
        if (!alive()) return false;
        await confirmed(publisher.publish(wait, queue, body, options, what).confirmed);
        return true;
      } catch {
        if (!link.open) throw new ConnectionError(`${what()}: the connection was lost`);
        // fall through: redeliver now rather than hold the message
      }
    }
    const publisher = link.publisherNow ?? (await link.publisher());
    if (!alive()) return false;
    await confirmed(publisher.publish("", queue, body, options, what).confirmed);
    return true;
  }

  // ------------------------------------------------------------------ consuming

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    if (!Number.isInteger(options.prefetch) || options.prefetch < 1 || options.prefetch > 65_535) {
      throw new ConfigError(`rabbitmq: prefetch must be an integer within 1..65535, got ${options.prefetch}`);
    }
    const consumer = new RabbitConsumer(this, source, options);
    try {
      await this.#operation(
        `consume ${describeSource(source)}`,
        (link) => consumer.attach(link),
        () => consumer.discard(),
      );
    } catch (error) {
      consumer.discard();
      throw this.#consumeError(error, source);
    }
    this.#consumers.add(consumer);
    return consumer;
  }

  #consumeError(error: unknown, source: Source): Error {
    if (error instanceof ConfigError || error instanceof ClosedError || error instanceof ConnectionError)
      return error;
    const what = describeSource(source);
    const code = amqpCode(error);
    if (code === 403) {
      return new ConfigError(`rabbitmq: access refused consuming ${what}`, { cause: error });
    }
    return new ConnectionError(`rabbitmq: cannot consume ${what}: ${(error as Error)?.message ?? error}`, {
      cause: error,
    });
  }

  forgetQueue(queue: string): void {
    this.#link?.forget(`q:${queue}`);
    for (const key of this.#link?.ready ?? []) {
      if (key.startsWith("b:") && key.endsWith(`>${queue}`)) this.#link?.forget(key);
    }
  }

  deletedByUs(queue: string): boolean {
    return this.#deleted.has(queue);
  }

  consumerClosed(consumer: RabbitConsumer): void {
    this.#consumers.delete(consumer);
  }

  /** Within `operationTimeoutMs`, or a retryable `ConnectionError`. */
  async ensureGroup(topic: string, group: string): Promise<void> {
    const what = `topic ${topic} group ${group}`;
    try {
      await this.#operation(`ensureGroup ${what}`, (link) => this.#ensureGroup(link, topic, group));
    } catch (error) {
      if (error instanceof ConnectionError) throw error;
      if (connectionTrouble(error)) {
        throw new ConnectionError(`rabbitmq: cannot declare ${what}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw this.#declareError(error, what);
    }
  }

  async deleteQueue(name: string): Promise<void> {
    await this.deleteAmqpQueue(queueName(name));
  }

  /** Within `operationTimeoutMs`, or a retryable `ConnectionError`. */
  async stats(source: Source): Promise<SourceStats> {
    const queue =
      source.kind === "queue" ? queueName(source.name) : groupQueueName(source.name, source.group);
    try {
      return await this.#operation(`stats of ${describeSource(source)}`, (link) =>
        amqpQueueStats(link, queue),
      );
    } catch (error) {
      if (error instanceof ConnectionError || error instanceof ClosedError) throw error;
      throw new ConnectionError(
        `rabbitmq: cannot read ${describeSource(source)}: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Delete a topic's exchange and the queues of its groups: those noted in the topic's group
   * registry (every group declared through this adapter, by any process), then the registry.
   */
  async deleteTopic(topic: string): Promise<void> {
    const exchange = topicExchange(topic);
    const registry = groupRegistryName(topic);
    let groups: Set<string>;
    try {
      groups = await this.#operation(`read the groups of topic ${topic}`, (link) =>
        this.#registeredGroups(link, topic),
      );
    } catch (error) {
      throw this.#deleteError(error, `topic ${topic}`);
    }
    for (const group of groups) await this.deleteGroup(topic, group);
    try {
      await this.#operation(`delete topic ${topic}`, async (link) => {
        for (const key of [`x:${exchange}`, `t:${exchange}`]) link.forget(key);
        for (const key of [...link.declaring.keys()])
          if (key.startsWith(`b:${exchange}>`) || key.startsWith(`r:${registry}>`)) link.forget(key);
        await link.declare((ch) => ch.deleteExchange(exchange));
        await link.declare((ch) => ch.deleteQueue(registry));
      });
    } catch (error) {
      if (amqpCode(error) === 404) return;
      throw this.#deleteError(error, `topic ${topic}`);
    }
  }

  /** Delete the queue of one group of a topic (its binding goes with it). */
  async deleteGroup(topic: string, group: string): Promise<void> {
    const queue = groupQueueName(topic, group);
    const link = this.currentLink();
    link?.forget(`b:${topicExchange(topic)}>${queue}`);
    link?.forget(`r:${groupRegistryName(topic)}>${group}`);
    await this.deleteAmqpQueue(queue);
  }

  #deleteError(error: unknown, what: string): Error {
    if (error instanceof ConnectionError || error instanceof ClosedError) return error;
    return new ConnectionError(
      `rabbitmq: cannot delete ${what}: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
      },
    );
  }

  /**
   * Delete a queue by its AMQP name (a consumer's own queue, a group queue), within
   * `operationTimeoutMs` or a retryable `ConnectionError`.
   */
  async deleteAmqpQueue(queue: string): Promise<void> {
    this.#deleted.add(queue);
    this.#ephemeral.delete(queue);
    try {
      await this.#operation(`delete queue ${queue}`, async (link) => {
        link.forget(`q:${queue}`);
        await link.declare((ch) => ch.deleteQueue(queue));
      });
    } catch (error) {
      if (amqpCode(error) === 404) return;
      if (error instanceof ConnectionError || error instanceof ClosedError) throw error;
      throw new ConnectionError(`rabbitmq: cannot delete queue ${queue}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** A consumer's ephemeral queue, on the live connection only (see {@link ConsumerHost}). */
  async deleteEphemeral(queue: string, ms: number): Promise<void> {
    const link = this.currentLink();
    this.#ephemeral.delete(queue);
    if (!link) return; // exclusive: it went with the connection that declared it
    link.forget(`q:${queue}`);
    await within(
      link.declare((ch) => ch.deleteQueue(queue)),
      ms,
      () => new BrokerTimeout(`deleting queue ${queue}`, ms),
    );
  }

  // ------------------------------------------------------------------ closing

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  /**
   * Within `closeTimeoutMs` whatever the broker does: copies being republished get at most half
   * of it, the connection's close handshake the rest; then the socket is dropped. A reconnect
   * under way is not waited for: it sees the adapter closed and closes what it opened.
   */
  async #doClose(): Promise<void> {
    this.#closed = true;
    const bound = this.#o.closeTimeoutMs;
    const deadline = Date.now() + bound;
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    // Copies being republished (nack, renumbering) get their confirm, and their originals their
    // ack, before the connection goes: else the broker would redeliver those originals too.
    const settle = Math.min(CLOSE_SETTLE_MS, Math.floor(bound / 2));
    await Promise.all(consumers.map((c) => c.settleInternal(settle)));
    // Each consumer's channel closes after its last acks (half of what is left), then the connection.
    const detach = Math.max(1, Math.floor((deadline - Date.now()) / 2));
    await Promise.all(consumers.map((c) => c.detach(detach)));
    const link = this.#link;
    this.#link = undefined;
    if (link?.open && this.#epochDeclared) {
      const left = Math.max(1, Math.floor((deadline - Date.now()) / 2));
      await within(
        link.declare((ch) => ch.deleteExchange(this.#epoch)),
        left,
        () => new BrokerTimeout("exchange.delete", left),
      ).catch(() => {});
    }
    if (link?.open) {
      link.open = false;
      const left = Math.max(1, deadline - Date.now());
      await within(link.connection.close(), left, () => new BrokerTimeout("connection.close", bound)).catch(
        () => dropSocket(link.connection),
      );
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Create the RabbitMQ adapter (amqplib). Queues are durable (classic by default), topics are
 * fanout exchanges with a queue per group, every send waits for publisher confirms, retries
 * and delays go through TTL wait queues (no plugin needed).
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { rabbitmq } from "@omnibus/rabbitmq";
 *
 * const bus = createClient({ adapter: rabbitmq({ url: "amqp://guest:guest@127.0.0.1:5672" }) });
 * await bus.send("orders", { sku: "A-1" });
 * ```
 */
export function rabbitmq(options: RabbitMQOptions = {}): RabbitMQAdapter {
  return new RabbitMQAdapterImpl(resolveOptions(options));
}

/** Options that may also be given in the URL's query string (`?queueType=classic&maxPriority=9`). */
const URL_OPTIONS = {
  queueType: "string",
  maxPriority: "number",
  singleActiveConsumer: "boolean",
  maxMessageBytes: "number",
  maxBatchSize: "number",
  heartbeatSeconds: "number",
  connectTimeoutMs: "number",
  sendWaitMs: "number",
  sendTimeoutMs: "number",
  operationTimeoutMs: "number",
  closeTimeoutMs: "number",
  namespace: "string",
  connectionName: "string",
} as const;

function decodeQuery(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError("rabbitmq: the URL's query has a malformed %-escape");
  }
}

/** Split the adapter's own options out of a URL's query; the rest stays for amqplib. */
export function splitUrlOptions(url: string): { url: string; options: Record<string, unknown> } {
  const q = url.indexOf("?");
  if (q < 0) return { url, options: {} };
  const hash = url.indexOf("#", q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const kept: string[] = [];
  const options: Record<string, unknown> = {};
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decodeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const raw = eq < 0 ? "" : decodeQuery(pair.slice(eq + 1));
    const type = (URL_OPTIONS as Record<string, string>)[key];
    if (type === undefined) {
      kept.push(pair);
      continue;
    }
    if (type === "number") {
      options[key] = raw.trim() === "" ? Number.NaN : Number(raw);
    } else if (type === "boolean") {
      if (raw !== "true" && raw !== "false") {
        throw new ConfigError(
          `rabbitmq: URL option ${key} must be true or false, got ${JSON.stringify(raw)}`,
        );
      }
      options[key] = raw === "true";
    } else {
      options[key] = raw;
    }
  }
  const base =
    url.slice(0, q) + (kept.length > 0 ? `?${kept.join("&")}` : "") + (hash < 0 ? "" : url.slice(hash));
  return { url: base, options };
}

/**
 * Build the adapter from an `amqp://` or `amqps://` URL; `createClient({ url })` calls it.
 * Adapter options may be given in the URL's query (`?queueType=classic&maxPriority=9`) or in
 * `options` ({@link RabbitMQOptions}, which win over the query).
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): RabbitMQAdapter {
  if (typeof url !== "string") throw new ConfigError(`rabbitmq: url must be a string, got ${typeof url}`);
  const split = splitUrlOptions(url);
  return rabbitmq({ ...split.options, ...(options as RabbitMQOptions), url: split.url });
}
