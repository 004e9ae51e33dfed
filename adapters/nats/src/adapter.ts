import {
  AckPolicy,
  type ConsumerInfo,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { connect, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import {
  type Adapter,
  type Address,
  ClosedError,
  ConfigError,
  ConnectionError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Features,
  INBOX_PREFIX,
  type Logger,
  MessageTooLargeError,
  maskUrl,
  type OutboundMessage,
  PublishError,
  type Source,
  type SourceStats,
} from "@omnibus/core";
import {
  type ConsumerHost,
  type DurableFacts,
  EphemeralConsumer,
  type NatsConsumer,
  PullConsumer,
} from "./consumer.js";
import { groupConsumer, type Names, QUEUE_CONSUMER, queueNames, topicNames } from "./names.js";
import type { ResolvedOptions } from "./options.js";
import { Publisher } from "./publisher.js";
import { consumerStats } from "./stats.js";
import { type HeaderBlock, headerBlock } from "./wire.js";

/** The escape hatch: the clients the adapter runs on. */
export interface NatsNative {
  /** The core NATS connection (`@nats-io/transport-node`). */
  readonly connection: NatsConnection;
  /** JetStream client (publish, consumers). */
  readonly jetstream: JetStreamClient;
  /** JetStream manager (streams and consumers). */
  readonly jetstreamManager: JetStreamManager;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room kept for the adapter's own headers and for percent-encoding of application headers. */
const HEADER_RESERVE = 64 * 1024;
const MAX_BATCH = 1000;
/** Remote inbox names remembered from `Omnibus-Reply-Inbox` (bounded). */
const MAX_REMEMBERED_INBOXES = 10_000;

const API_STREAM_NOT_FOUND = 10059;
const API_CONSUMER_NOT_FOUND = 10014;
const API_STREAM_IN_USE = 10058;

const ns = (ms: number) => ms * 1_000_000;

function apiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

function describe(address: Address): string {
  return `${address.kind} ${address.name}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

/** A one-shot event. */
interface Signal {
  readonly promise: Promise<void>;
  fire(): void;
}

function signal(fired = false): Signal {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  if (fired) fire();
  return { promise, fire };
}

/**
 * `promise`'s value, or `undefined` once `deadline` (epoch ms) passed or `interrupt` resolved
 * first. A rejection of `promise` is passed on.
 */
/** How long one stream-creation request of a send may go unanswered before it is asked again. */
const STREAM_ATTEMPT_MS = 2_000;

async function race<T>(
  promise: Promise<T>,
  deadline: number,
  interrupt?: Promise<void>,
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const out = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
    timer.unref();
  });
  try {
    return await Promise.race(interrupt ? [promise, out, interrupt.then(() => undefined)] : [promise, out]);
  } finally {
    clearTimeout(timer);
  }
}

/** The NATS JetStream adapter. Build it with {@link nats}. */
export class NatsAdapter implements Adapter<NatsNative>, ConsumerHost {
  readonly name = "nats";
  readonly #o: ResolvedOptions;
  #nc: NatsConnection | undefined;
  #jsm: JetStreamManager | undefined;
  #js: JetStreamClient | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #connected = false;
  readonly #consumers = new Set<NatsConsumer>();
  /** Streams known to exist: name → promise of its creation. */
  readonly #streams = new Map<string, Promise<void>>();
  /** Streams whose creation in {@link NatsAdapter.#streams} has succeeded: a send need not wait for it. */
  readonly #streamsMade = new Set<string>();
  /** The stream of each destination sent to (not inboxes), so a send does not rebuild its names. */
  readonly #destinations = new Map<string, StreamConfig & { name: string }>();
  /** Consumers known to exist: `stream/consumer` → promise of its creation (or check). */
  readonly #durables = new Map<string, Promise<DurableFacts>>();
  /** Ephemeral queues of this adapter: queue name → consumer. */
  readonly #inboxes = new Map<string, EphemeralConsumer>();
  /** Ephemeral queues of other clients (replies go to them without a stream). */
  readonly #remoteInboxes = new Set<string>();
  #publisher: Publisher | undefined;
  /** Resolves at the next disconnect (or close). */
  #down = signal();
  /** Resolves once connected again (resolved while connected, and on close). */
  #up = signal(true);

  #features: Features;
  #logger: Logger | undefined;

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.#features = this.#computeFeatures(DEFAULT_MAX_PAYLOAD);
  }

  get features(): Features {
    return this.#features;
  }

  useLogger(logger: Logger): void {
    this.#logger ??= logger;
  }

  #computeFeatures(maxPayload: number): Features {
    return Object.freeze({
      persistent: this.#o.storage === "file",
      fanout: true,
      orderingByKey: true,
      delay: false,
      maxDelayMs: 0,
      priority: false,
      maxPriority: 0,
      maxMessageBytes: Math.max(1024, maxPayload - HEADER_RESERVE),
      maxBatchSize: MAX_BATCH,
    });
  }

  get native(): NatsNative {
    if (!this.#nc || !this.#js || !this.#jsm) throw new ConfigError("nats: the adapter is not connected yet");
    return { connection: this.#nc, jetstream: this.#js, jetstreamManager: this.#jsm };
  }

  // ConsumerHost
  get nc(): NatsConnection {
    if (!this.#nc) throw new ConnectionError("nats: not connected");
    return this.#nc;
  }
  get inboxPrefix(): string | undefined {
    return this.#o.connection.inboxPrefix;
  }
  get connected(): boolean {
    return this.#connected;
  }
  get nextDisconnect(): Promise<void> {
    return this.#down.promise;
  }
  rememberInbox(name: string): void {
    if (this.#remoteInboxes.has(name)) return;
    if (this.#remoteInboxes.size >= MAX_REMEMBERED_INBOXES) {
      this.#remoteInboxes.delete(this.#remoteInboxes.values().next().value!);
    }
    this.#remoteInboxes.add(name);
  }
  forget(consumer: NatsConsumer): void {
    this.#consumers.delete(consumer);
    if (consumer instanceof EphemeralConsumer) {
      for (const [name, c] of this.#inboxes) if (c === consumer) this.#inboxes.delete(name);
    }
  }

  // ------------------------------------------------------------------ connection

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("nats: the adapter is closed"));
    this.#connecting ??= this.#connect();
    this.#connecting.catch(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: this.#o.servers,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        timeout: 5_000,
        // Async stack traces cost an Error object per request (a fifth of the CPU of a send).
        noAsyncTraces: true,
        ...this.#o.connection,
      });
    } catch (error) {
      throw new ConnectionError(
        `nats: cannot connect to ${maskUrl(this.#o.url)}: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
    }
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc, { timeout: this.#o.publishTimeoutMs });
    } catch (error) {
      await nc.close().catch(() => {});
      throw new ConnectionError(
        `nats: JetStream is not available on ${maskUrl(this.#o.url)} (start nats-server with -js): ${(error as Error)?.message}`,
        { cause: error },
      );
    }
    if (this.#closed) {
      await nc.close().catch(() => {});
      throw new ClosedError("nats: the adapter was closed while connecting");
    }
    this.#nc = nc;
    this.#features = this.#computeFeatures(nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD);
    this.#jsm = jsm;
    this.#js = jsm.jetstream();
    this.#publisher = new Publisher(
      nc,
      this.#o.connection.inboxPrefix,
      this.#o.publishTimeoutMs,
      this.#o.maxInFlight,
    );
    this.#connected = true;
    void this.#watchStatus(nc);
    void nc.closed().then((error) => {
      this.#connected = false;
      if (this.#closed) return;
      const failure = new ConnectionError(
        `nats: the connection to ${maskUrl(this.#o.url)} closed${error ? `: ${error.message}` : ""}`,
        { cause: error },
      );
      this.#publisher?.close();
      this.#down.fire();
      this.#up.fire();
      for (const c of [...this.#consumers]) c.fail(failure);
    });
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        this.#connected = false;
        this.#up = signal(this.#closed);
        this.#down.fire();
        this.#publisher?.onDisconnect();
        for (const c of this.#consumers) c.onDisconnect();
      } else if (s.type === "reconnect") {
        this.#connected = true;
        this.#down = signal(this.#closed);
        this.#up.fire();
        // PubAcks owed on the old connection are lost: publish what waits for one again, now.
        this.#publisher?.onReconnect();
        for (const c of this.#consumers) c.onReconnect();
      }
    }
  }

  #ready(): { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager } {
    if (this.#closed) throw new ClosedError("nats: the adapter is closed");
    if (!this.#nc || !this.#js || !this.#jsm)
      throw new ConnectionError("nats: not connected: call connect() first");
    return { nc: this.#nc, js: this.#js, jsm: this.#jsm };
  }

  /** Idempotent: a second call (also while the first is under way) waits for the same close. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = this.#close();
    }
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#down.fire();
    this.#up.fire();
    await this.#connecting?.catch(() => {});
    await Promise.all([...this.#consumers].map((c) => c.close().catch(() => {})));
    this.#publisher?.close();
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return;
    // Drain flushes pending acks; bounded, since a dead server would make it wait.
    const drained = await Promise.race([
      nc.drain().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref()),
    ]);
    if (!drained) await nc.close().catch(() => {});
  }

  // ------------------------------------------------------------------ topology

  #queueStream(name: string): StreamConfig & { name: string } {
    const n = queueNames(this.#prefixes, name);
    return {
      ...this.#streamBase(n),
      retention: RetentionPolicy.Workqueue,
      max_age: 0,
    } as StreamConfig & { name: string };
  }

  #topicStream(name: string): StreamConfig & { name: string } {
    const n = topicNames(this.#prefixes, name);
    return {
      ...this.#streamBase(n),
      retention: RetentionPolicy.Limits,
      max_age: ns(this.#o.topicMaxAgeMs),
    } as StreamConfig & { name: string };
  }

  get #prefixes() {
    return { stream: this.#o.streamPrefix, subject: this.#o.subjectPrefix };
  }

  #streamBase(n: Names) {
    return {
      name: n.stream,
      subjects: [n.subject],
      storage: this.#o.storage === "file" ? StorageType.File : StorageType.Memory,
      num_replicas: this.#o.replicas,
      discard: DiscardPolicy.Old,
      max_msgs: -1,
      max_bytes: -1,
      max_msg_size: -1,
      duplicate_window: ns(this.#o.duplicateWindowMs),
    };
  }

  #streamFor(address: Address): StreamConfig & { name: string } {
    return address.kind === "queue" ? this.#queueStream(address.name) : this.#topicStream(address.name);
  }

  /** {@link NatsAdapter.#streamFor}, remembered (a few thousand destinations at most). */
  #destination(address: Address): StreamConfig & { name: string } {
    const key = `${address.kind === "queue" ? "q" : "t"}:${address.name}`;
    let config = this.#destinations.get(key);
    if (!config) {
      if (this.#destinations.size >= 4_096) this.#destinations.clear();
      config = this.#streamFor(address);
      this.#destinations.set(key, config);
    }
    return config;
  }

  /** Create the stream unless it exists (an existing one is kept as it is). */
  #ensureStream(config: StreamConfig & { name: string }, fresh = false): Promise<void> {
    if (fresh) this.#forgetStream(config.name);
    let p = this.#streams.get(config.name);
    if (!p) {
      const { jsm } = this.#ready();
      p = jsm.streams.add(config).then(
        () => undefined,
        (error) => {
          if (apiCode(error) === API_STREAM_IN_USE) return; // exists with another configuration: use it
          throw error;
        },
      );
      this.#streams.set(config.name, p);
      const created = p;
      p.then(
        () => {
          if (this.#streams.get(config.name) === created) this.#streamsMade.add(config.name);
        },
        () => {
          if (this.#streams.get(config.name) === created) this.#streams.delete(config.name);
        },
      );
    }
    return p;
  }

  #forgetStream(name: string): void {
    this.#streams.delete(name);
    this.#streamsMade.delete(name);
  }

  /**
   * Create the durable consumer unless it exists. An existing one is checked, not trusted: it must
   * be a pull consumer with explicit acks and unlimited deliveries (anything else would settle,
   * drop or push messages behind core's back), and its `ack_wait` is what the consumers pace
   * their `+WPI` by (it may differ from `ackWaitMs` when another process created it).
   */
  #ensureDurable(
    stream: string,
    durable: string,
    deliver: DeliverPolicy,
    fresh = false,
  ): Promise<DurableFacts> {
    const key = `${stream}/${durable}`;
    if (fresh) this.#durables.delete(key);
    let p = this.#durables.get(key);
    if (!p) {
      const { jsm } = this.#ready();
      p = (async () => {
        try {
          const info = await jsm.consumers.info(stream, durable);
          return this.#checkDurable(await this.#repairAhead(jsm, info, deliver), false);
        } catch (error) {
          if (apiCode(error) !== API_CONSUMER_NOT_FOUND) throw error;
        }
        const created = await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: deliver,
          replay_policy: ReplayPolicy.Instant,
          ack_wait: ns(this.#o.ackWaitMs),
          // Core dead-letters; the server must never drop a message on its own.
          max_deliver: -1,
          // Unbounded on the server: messages NAKed with a delay count as pending there, and a
          // small limit would stall the consumer until they come due. Each consumer bounds what
          // it asks for by its prefetch instead.
          max_ack_pending: -1,
        });
        // Created concurrently by another process with other settings: its settings won.
        return this.#checkDurable(created, true);
      })();
      this.#durables.set(key, p);
      const created = p;
      p.catch(() => {
        if (this.#durables.get(key) === created) this.#durables.delete(key);
      });
    }
    return p;
  }

  /**
   * A durable that has seen more of its stream than the stream holds is created again. After an
   * unclean stop (`kill -9`, a power cut) nats-server 2.9 can bring a stream back without its
   * last messages (written to disk asynchronously) while its consumer's state, written separately,
   * kept them as delivered: the consumer's delivered sequence is then past the stream's last one,
   * and the server skips every message published afterwards until the stream's sequence catches
   * up with it — those messages are confirmed to their senders and never delivered
   * (nats-io/nats-server#4566, #5412). The consumer's `delivered` is read before the stream's
   * `last_seq`, which only grows, so a consumer in step is never taken for one ahead.
   *
   * The new consumer has the old one's settings and starts where nothing is known to be settled:
   * a queue's (a work-queue stream keeps only what is unacknowledged) at the stream's first
   * message, a group's after its ack floor. What it delivers again is duplicates, which
   * at-least-once allows. Two processes repairing at once each delete and create; the one that
   * loses finds its pull requests cut off ("consumer deleted") and checks again, in step now.
   */
  async #repairAhead(
    jsm: JetStreamManager,
    info: ConsumerInfo,
    deliver: DeliverPolicy,
  ): Promise<ConsumerInfo> {
    const delivered = info.delivered?.stream_seq ?? 0;
    if (delivered === 0) return info;
    const stream = info.stream_name;
    const { state } = await jsm.streams.info(stream);
    if (delivered <= state.last_seq) return info;
    const { opt_start_time: _t, opt_start_seq: _s, deliver_policy: _d, ...config } = info.config;
    const from = Math.min(info.ack_floor?.stream_seq ?? 0, state.last_seq) + 1;
    this.#logger?.warn(
      `nats: consumer ${info.name} of stream ${stream} has delivered up to sequence ${delivered}, ` +
        `past the stream's last (${state.last_seq}: the server lost its tail in an unclean stop); ` +
        `creating it again from ${deliver === DeliverPolicy.All ? "the stream's first message" : `sequence ${from}`} ` +
        "so that new messages are not skipped",
    );
    try {
      await jsm.consumers.delete(stream, info.name);
    } catch (error) {
      if (apiCode(error) !== API_CONSUMER_NOT_FOUND) throw error;
    }
    try {
      return await jsm.consumers.add(
        stream,
        deliver === DeliverPolicy.All
          ? { ...config, deliver_policy: DeliverPolicy.All }
          : { ...config, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from },
      );
    } catch (error) {
      // Created again by another process meanwhile (its start may differ): use that one.
      if (!(error instanceof JetStreamApiError)) throw error;
      return jsm.consumers.info(stream, info.name);
    }
  }

  #checkDurable(info: ConsumerInfo, created: boolean): DurableFacts {
    const c = info.config;
    const wrong: string[] = [];
    if (c.ack_policy !== AckPolicy.Explicit)
      wrong.push(`ack policy "${c.ack_policy}" (an ack must settle exactly one message: "explicit")`);
    if (c.deliver_subject)
      wrong.push(`deliver subject ${c.deliver_subject} (a push consumer; the adapter pulls)`);
    if (c.max_deliver !== undefined && c.max_deliver > 0)
      wrong.push(
        `max_deliver ${c.max_deliver} (the server would drop messages that core has not dead-lettered)`,
      );
    if (wrong.length > 0) {
      throw new ConfigError(
        `nats: consumer ${info.name} of stream ${info.stream_name} exists with ${wrong.join(", ")}; ` +
          "delete it (nats consumer rm) and the adapter creates it as it needs it",
      );
    }
    const ackWaitNs = Number(c.ack_wait);
    return {
      ackWaitMs: ackWaitNs > 0 ? Math.max(1, Math.round(ackWaitNs / 1e6)) : this.#o.ackWaitMs,
      delivered: info.delivered?.stream_seq ?? 0,
      ackFloor: info.ack_floor?.stream_seq ?? 0,
      created,
    };
  }

  /** The durable's facts from the server (used by a stopping consumer, see PullSettings.inspect). */
  async #inspectDurable(stream: string, durable: string): Promise<DurableFacts> {
    // Also while the adapter closes: its consumers' close() asks this last.
    if (!this.#jsm) throw new ConnectionError("nats: not connected");
    return this.#checkDurable(await this.#jsm.consumers.info(stream, durable), false);
  }

  async #ensureSource(
    source: Source,
    fresh: boolean,
  ): Promise<{ stream: string; durable: string; facts: DurableFacts }> {
    if (source.kind === "queue") {
      const config = this.#queueStream(source.name);
      await this.#ensureStream(config, fresh);
      const facts = await this.#ensureDurable(config.name, QUEUE_CONSUMER, DeliverPolicy.All, fresh);
      return { stream: config.name, durable: QUEUE_CONSUMER, facts };
    }
    const config = this.#topicStream(source.name);
    const durable = groupConsumer(source.group);
    await this.#ensureStream(config, fresh);
    const facts = await this.#ensureDurable(config.name, durable, DeliverPolicy.New, fresh);
    return { stream: config.name, durable, facts };
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    await this.connect();
    try {
      await this.#ensureSource({ kind: "topic", name: topic, group }, false);
    } catch (error) {
      throw this.#topologyError(`cannot create group ${group} of topic ${topic}`, error);
    }
  }

  /** The durable consumer's pending counts (see `stats.ts`). */
  async stats(source: Source): Promise<SourceStats> {
    await this.connect();
    const [stream, durable] =
      source.kind === "queue"
        ? [this.#queueStream(source.name).name, QUEUE_CONSUMER]
        : [this.#topicStream(source.name).name, groupConsumer(source.group)];
    try {
      return await consumerStats(this.#ready().jsm, stream, durable, source.kind === "queue");
    } catch (error) {
      throw this.#topologyError(`cannot read the state of ${source.kind} ${source.name}`, error);
    }
  }

  async deleteQueue(name: string): Promise<void> {
    await this.connect();
    const inbox = this.#inboxes.get(name);
    if (inbox) {
      await inbox.close();
      return;
    }
    const config = this.#queueStream(name);
    this.#forgetStream(config.name);
    this.#destinations.delete(`q:${name}`);
    this.#durables.delete(`${config.name}/${QUEUE_CONSUMER}`);
    try {
      await this.#ready().jsm.streams.delete(config.name);
    } catch (error) {
      if (apiCode(error) === API_STREAM_NOT_FOUND) return;
      throw this.#topologyError(`cannot delete queue ${name}`, error);
    }
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.connect();
    const config = this.#topicStream(topic);
    this.#forgetStream(config.name);
    this.#destinations.delete(`t:${topic}`);
    for (const key of [...this.#durables.keys()])
      if (key.startsWith(`${config.name}/`)) this.#durables.delete(key);
    try {
      // The groups are consumers of the stream: they go with it.
      await this.#ready().jsm.streams.delete(config.name);
    } catch (error) {
      if (apiCode(error) === API_STREAM_NOT_FOUND) return;
      throw this.#topologyError(`cannot delete topic ${topic}`, error);
    }
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    await this.connect();
    const config = this.#topicStream(topic);
    const durable = groupConsumer(group);
    this.#durables.delete(`${config.name}/${durable}`);
    try {
      await this.#ready().jsm.consumers.delete(config.name, durable);
    } catch (error) {
      const code = apiCode(error);
      if (code === API_STREAM_NOT_FOUND || code === API_CONSUMER_NOT_FOUND) return;
      throw this.#topologyError(`cannot delete group ${group} of topic ${topic}`, error);
    }
  }

  #topologyError(what: string, error: unknown): Error {
    if (error instanceof ClosedError || error instanceof ConnectionError || error instanceof ConfigError)
      return error;
    return new ConnectionError(`nats: ${what}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  }

  // ------------------------------------------------------------------ sending

  /**
   * An ephemeral queue: one of ours, one named by `Omnibus-Reply-Inbox`, or any queue under core's
   * `INBOX_PREFIX` (core names its request-reply inboxes so that adapters can tell): never a stream.
   */
  #isInbox(name: string): boolean {
    return this.#inboxes.has(name) || this.#remoteInboxes.has(name) || name.startsWith(INBOX_PREFIX);
  }

  #headers(message: OutboundMessage): HeaderBlock {
    const replyIsInbox = message.replyTo !== undefined && this.#isInbox(message.replyTo);
    return headerBlock(message, replyIsInbox);
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // Connected already (the usual case): no turn of the event loop for connect().
    if (!this.#nc || this.#closed) await this.connect();
    const { nc } = this.#ready();
    const inbox = address.kind === "queue" && this.#isInbox(address.name);
    const config = inbox ? this.#streamFor(address) : this.#destination(address);
    const subject = config.subjects![0]!;
    const maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
    // The publisher's items are indexes into `messages` and `blocks`: no object per message.
    const blocks: HeaderBlock[] = new Array(messages.length);
    const prepared: number[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const h = this.#headers(m);
      const size = m.body.byteLength + h.bytes.byteLength;
      if (size > maxPayload) {
        throw new MessageTooLargeError(
          `nats: message ${m.id} is ${size} bytes with its headers; the server accepts at most ${maxPayload}`,
        );
      }
      blocks[i] = h;
      prepared[i] = i;
    }
    if (!inbox && !this.#streamsMade.has(config.name)) {
      try {
        await this.#ensureStream(config);
      } catch (error) {
        throw new PublishError(
          `nats: cannot create the stream of ${describe(address)}: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        );
      }
    }
    const publisher = this.#publisher!;
    const body = (i: number) => messages[i]!.body;
    const headers = (i: number) => blocks[i] as unknown as MsgHdrs;
    const deadline = Date.now() + this.#o.publishTimeoutMs;
    let failed = await publisher.publish(subject, prepared, body, headers, deadline);
    // Nothing listened on the subject: the stream was deleted behind our back, or JetStream is
    // shutting down with the server (a graceful stop drops the streams' interest before it closes
    // the connections). Create the stream again (an existing one is kept) and resend what failed,
    // after the reconnect if the connection goes, until the send's deadline.
    for (let round = 0; !inbox && failed.some((f) => f.error.kind === "no-stream"); round++) {
      // Not in a tight loop: a stream that exists with other subjects answers "no responders" again.
      if (round > 0) await sleep(Math.min(1_000, 100 * 2 ** round, deadline - Date.now()));
      if (Date.now() >= deadline) break;
      try {
        await this.#recreateStream(config, deadline);
      } catch (error) {
        throw new PublishError(
          `nats: cannot create the stream of ${describe(address)}: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        );
      }
      const again = failed.filter((f) => f.error.kind === "no-stream").map((f) => f.item);
      const kept = failed.filter((f) => f.error.kind !== "no-stream");
      failed = [...kept, ...(await publisher.publish(subject, again, body, headers, deadline))];
    }
    if (failed.length > 0) {
      const first = failed[0]!.error;
      const reason =
        inbox && first.kind === "no-stream" ? "nobody listens on that inbox any more" : first.message;
      throw new PublishError(
        `nats: ${failed.length} of ${messages.length} message(s) to ${describe(address)} were not acknowledged: ${reason}`,
        { cause: first },
      );
    }
  }

  /**
   * Create the stream of a send whose subject had no listener, retrying what may be transient
   * (no answer, JetStream unavailable, a connection lost mid-request: its answer never comes, so
   * the request is abandoned at the disconnect and sent again after the reconnect) until
   * `deadline`. A refusal by the server is final.
   */
  async #recreateStream(config: StreamConfig & { name: string }, deadline: number): Promise<void> {
    let pause = 0;
    for (;;) {
      if (pause > 0) await sleep(Math.min(pause, deadline - Date.now()));
      if (!this.#connected) await race(this.#up.promise, deadline);
      if (this.#closed) throw new ClosedError("nats: the adapter is closed");
      if (this.#nc?.isClosed()) throw new ConnectionError("nats: the connection is closed");
      if (Date.now() >= deadline) throw new Error("no answer from JetStream before the send's deadline");
      if (!this.#connected) continue;
      const down = this.#down.promise;
      let error: unknown;
      try {
        // Each request gets a few seconds: on a cluster, a request that reached JetStream while it
        // was electing a leader is never answered (seen: the whole 10 s deadline spent waiting).
        if (
          await race(
            this.#ensureStream(config, true).then(() => true),
            Math.min(deadline, Date.now() + STREAM_ATTEMPT_MS),
            down,
          )
        )
          return;
        continue; // disconnected, unanswered, or out of time: ask again (the loop checks the deadline)
      } catch (e) {
        error = e;
      }
      if (error instanceof JetStreamApiError && error.status !== 503) throw error;
      pause = Math.min(1_000, Math.max(100, pause * 2));
    }
  }

  // ------------------------------------------------------------------ consuming

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    if (!Number.isInteger(options.prefetch) || options.prefetch < 1) {
      throw new ConfigError(`nats: prefetch must be a positive integer, got ${options.prefetch}`);
    }
    await this.connect();
    this.#ready();
    if (source.kind === "queue" && source.ephemeral) {
      const subject = queueNames(this.#prefixes, source.name).subject;
      const consumer = new EphemeralConsumer(this, subject, options);
      this.#inboxes.set(source.name, consumer);
      this.#consumers.add(consumer);
      consumer.start();
      return consumer;
    }
    let names: { stream: string; durable: string; facts: DurableFacts };
    try {
      names = await this.#ensureSource(source, false);
    } catch (error) {
      throw this.#topologyError(
        `cannot create ${source.kind === "queue" ? `queue ${source.name}` : `group ${source.group} of topic ${source.name}`}`,
        error,
      );
    }
    // Closed meanwhile: a consumer started now would outlive the adapter.
    this.#ready();
    const consumer = new PullConsumer(
      this,
      {
        stream: names.stream,
        consumer: names.durable,
        apiPrefix: this.#js!.apiPrefix,
        ackWaitMs: names.facts.ackWaitMs,
        pullExpiresMs: this.#o.pullExpiresMs,
        ensure: async () => (await this.#ensureSource(source, true)).facts,
        inspect: () => this.#inspectDurable(names.stream, names.durable),
      },
      options,
    );
    this.#consumers.add(consumer);
    consumer.start();
    return consumer;
  }
}
