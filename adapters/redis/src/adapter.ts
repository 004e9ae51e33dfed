import { randomBytes, randomUUID } from "node:crypto";
import type {
  Adapter,
  Address,
  ConsumeOptions,
  ConsumerHandle,
  Features,
  Logger,
  OutboundMessage,
  Source,
  SourceStats,
} from "@omnibus/core";
import {
  ClosedError,
  ConfigError,
  ConnectionError,
  consoleLogger,
  INBOX_PREFIX,
  isOmnibusError,
  MessageTooLargeError,
  maskUrl,
  PublishError,
} from "@omnibus/core";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import { Acker } from "./acker.js";
import { duplicateForBlocking, isCluster, type RedisClient } from "./client.js";
import { BatchPacker, messageBytes } from "./codec.js";
import { installScripts } from "./commands.js";
import { StreamConsumer } from "./consumer.js";
import { clientSecrets, Scrubber, urlSecret } from "./errors.js";
import { addressKeys, queueKeys, type SourceKeys, topicKeys } from "./keys.js";
import { Maintenance } from "./maintenance.js";
import type { ResolvedOptions } from "./options.js";
import { configValue } from "./replies.js";
import { UID_LENGTH } from "./scripts.js";
import { CHUNK_BYTES, Sender, SendTimeout, Ticket, type Unit } from "./sender.js";
import { sourceStats } from "./stats.js";
import { within } from "./util.js";

/**
 * Redis's limit on one argument (`proto-max-bulk-len`, 512 MB by default), less room for the other
 * messages of a call: a message whose packed form (with its id, key, … and JSON headers) is larger
 * cannot be sent at all.
 */
const REDIS_MAX_ARGUMENT_BYTES = 512 * 1024 * 1024 - 64 * 1024;

/** ioredis's default reconnection delays, used when the options give none. */
const defaultRetry = (times: number) => Math.min(times * 50, 2000);
const defaultClusterRetry = (times: number) => Math.min(100 + times * 2, 2000);

/** The escape hatch of the Redis adapter. */
export interface RedisNative {
  /** The main connection: sends, acks, claims, schedules. Never blocked. */
  readonly client: RedisClient;
  /** The blocking connections, one per running consumer (`XREADGROUP … BLOCK`). */
  readonly blockingClients: ReadonlySet<RedisClient>;
}

/** Back-pressure on sends: at most `limit` messages on their way to Redis at once. */
class Gate {
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async acquire(n: number): Promise<void> {
    while (this.inFlight > 0 && this.inFlight + n > this.limit) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.inFlight += n;
  }

  release(n: number): void {
    this.inFlight -= n;
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w();
  }
}

export class RedisAdapter implements Adapter<RedisNative> {
  readonly name = "redis";
  readonly features: Features;
  readonly native: RedisNative;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly blockingClients = new Set<RedisClient>();
  private readonly consumers = new Set<StreamConsumer>();
  private readonly acker: Acker;
  private readonly maintenance: Maintenance;
  private readonly gate: Gate;
  private readonly sender: Sender;
  private readonly clientId = randomUUID().replaceAll("-", "").slice(0, 12);
  private readonly scrub: Scrubber;
  private connecting: Promise<void> | undefined;
  /**
   * True while `connect()` makes a connection from scratch: ioredis must not retry it behind our
   * back then (it would keep queueing commands for a server that is not there); a failed attempt
   * ends the client, and the next `connect()` or `send()` makes a new one.
   */
  private connectAttempt = false;
  /** The last error ioredis reported on the main connection (a refused connection, a failed AUTH). */
  private lastError: unknown;
  /** The last connect() failed: a send connects again first, rather than queue behind it. */
  private connectFailed = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** Where warnings go: the `logger` option, else the client's logger, else stderr. */
  private logger: Logger;

  constructor(private readonly options: ResolvedOptions) {
    this.logger = options.logger ?? consoleLogger("warn");
    this.features = Object.freeze({
      persistent: options.persistent,
      fanout: true,
      orderingByKey: false,
      delay: true,
      maxDelayMs: Number.POSITIVE_INFINITY,
      priority: false,
      maxPriority: 0,
      maxMessageBytes: options.maxMessageBytes,
      maxBatchSize: options.maxBatchSize,
    });
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else if (options.cluster) {
      const cluster: ClusterOptions = options.cluster.options;
      const retry = cluster.clusterRetryStrategy ?? defaultClusterRetry;
      this.client = new Cluster(options.cluster.nodes, {
        ...cluster,
        lazyConnect: true,
        clusterRetryStrategy: (times, reason) => (this.connectAttempt ? null : retry(times, reason)),
      });
      this.ownsClient = true;
    } else {
      const redisOptions: RedisOptions = options.redis;
      const retry = redisOptions.retryStrategy ?? defaultRetry;
      this.client = new Redis(options.url, {
        connectTimeout: options.connectTimeoutMs,
        ...redisOptions,
        lazyConnect: true,
        retryStrategy: (times) => (this.connectAttempt ? null : retry(times)),
      });
      this.ownsClient = true;
    }
    this.scrub = new Scrubber([
      urlSecret(options.client || options.cluster ? undefined : options.url),
      ...clientSecrets(this.client),
    ]);
    this.client.on("error", (error: unknown) => {
      // ioredis reconnects by itself; failed commands reject on their own. Kept for connect()'s
      // message: ioredis rejects it with a bare "Connection is closed.".
      this.lastError = error;
    });
    // Consumers recover what a reply lost with the main connection carried (claims), and wake up
    // when it is back. One listener for all of them.
    const closed = () => {
      for (const c of this.consumers) c.onConnectionClosed();
    };
    this.client.on("close", closed);
    this.client.on("-node", closed);
    this.client.on("ready", () => {
      for (const c of this.consumers) c.onConnectionReady();
    });
    installScripts(this.client);
    this.acker = new Acker(this.client, this.scrub, (error) => this.log("acknowledgements failed", error));
    this.maintenance = new Maintenance(this.client, options, (error) =>
      this.log("maintenance failed", error),
    );
    this.gate = new Gate(options.maxInFlightSends);
    this.sender = new Sender(this.client, options.maxBatchSize);
    const blockingClients = this.blockingClients;
    const client = this.client;
    this.native = { client, blockingClients };
  }

  /** The client's logger, used unless the `logger` option was given. */
  useLogger(logger: Logger): void {
    if (this.options.logger === undefined) this.logger = logger;
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError("redis: adapter is closed"));
    if (this.connecting) return this.connecting;
    if (this.client.status === "ready") return Promise.resolve();
    const attempt = this.doConnect().finally(() => {
      if (this.connecting === attempt) this.connecting = undefined;
    });
    this.connecting = attempt;
    return attempt;
  }

  private async doConnect(): Promise<void> {
    const status = this.client.status;
    const ms = this.options.connectTimeoutMs;
    this.lastError = undefined;
    const fromScratch = status === "wait" || status === "end";
    // From scratch, ioredis must not retry a failed attempt behind our back (see connectAttempt).
    this.connectAttempt = fromScratch && this.ownsClient;
    // Otherwise ioredis is (re)connecting by itself: wait for it.
    const waiting = fromScratch ? this.client.connect() : readyOrEnd(this.client, ms + 100);
    const outcome = await settleWithin(waiting, ms);
    this.connectAttempt = false;
    this.connectFailed = outcome !== undefined;
    if (outcome !== undefined) {
      // A timed-out attempt from scratch is dropped at once (a reconnection in progress is left to
      // ioredis): ioredis would wait up to its disconnectTimeout for a silent server to close.
      if (outcome.timedOut && fromScratch && this.ownsClient && this.client.status !== "end") {
        this.client.disconnect();
        if (!isCluster(this.client)) this.client.stream?.destroy();
      }
      const reason = outcome.timedOut
        ? new Error(`no connection within ${ms} ms (${this.scrub.message(this.lastError ?? "no reply")})`)
        : (this.lastError ?? outcome.error);
      throw new ConnectionError(
        `redis: cannot connect to ${this.describeTarget()}: ${this.scrub.message(reason)}`,
        { cause: this.scrub.cause(reason) },
      );
    }
    if (this.closed) {
      // close() ran while we were connecting: do not leave a connection open behind it.
      if (this.ownsClient) this.client.disconnect();
      throw new ClosedError("redis: adapter is closed");
    }
    if (this.options.persistent) void this.checkPersistence();
  }

  private describeTarget(): string {
    if (this.options.cluster) {
      return `cluster ${this.options.cluster.nodes.map((n) => (typeof n === "object" ? `${n.host ?? ""}:${n.port ?? ""}` : maskUrl(String(n)))).join(",")}`;
    }
    return this.options.client ? "the given client's server" : maskUrl(this.options.url);
  }

  /** `persistent: true` is a claim about the server: say so when the server contradicts it. */
  private async checkPersistence(): Promise<void> {
    try {
      const appendonly = configValue(await this.client.config("GET", "appendonly"), "appendonly");
      const fsync = configValue(await this.client.config("GET", "appendfsync"), "appendfsync");
      if (appendonly !== "yes") {
        this.logger.warn(
          "redis: persistent is declared but the server has appendonly no: a restart loses every message",
        );
      } else if (fsync !== "always") {
        this.logger.warn(
          `redis: persistent is declared but the server has appendfsync ${fsync}: a crash may lose up to a second of acknowledged sends`,
        );
      }
    } catch {
      // CONFIG is often disabled on managed servers: nothing to check then.
    }
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (this.closed) throw new ClosedError("redis: adapter is closed");
    const n = messages.length;
    if (n === 0) return;
    const { stream, delayed } = addressKeys(this.options.prefix, address.kind, address.name);
    // A reply to a request inbox that is gone (its client closed or died) is dropped rather than
    // re-creating the inbox as an orphan stream nobody will ever delete.
    const nomk = address.kind === "queue" && address.name.startsWith(INBOX_PREFIX);
    const delayOf = (m: OutboundMessage) =>
      m.delayMs !== undefined && m.delayMs > 0 ? Math.ceil(m.delayMs) : 0;
    const max = this.options.maxMessageBytes;
    let minDelay = Number.POSITIVE_INFINITY;
    // Pack everything first: an oversized message fails the call before anything is sent.
    let estimate = 0;
    for (const m of messages) estimate += m.body.byteLength + 256;
    const hint = Math.min(estimate, CHUNK_BYTES * 2);
    const units: Unit[] = [];
    let packer = new BatchPacker(hint);
    for (const m of messages) {
      // Measured as core measures it (body + header names and values): what core lets through,
      // the adapter takes; its own fields fit below Redis's limit (see MAX_MESSAGE_BYTES_LIMIT).
      const size = messageBytes(m, max);
      if (size > max) {
        throw new MessageTooLargeError(
          `redis: message ${m.id} is ${size} bytes, over maxMessageBytes ${max}`,
        );
      }
      const delay = delayOf(m);
      if (delay > 0) minDelay = Math.min(minDelay, delay);
      const packed = packer.add(m, delay, delay > 0 ? uid() : "");
      if (packed > REDIS_MAX_ARGUMENT_BYTES) {
        // Only with id, key, correlation id or reply-to of hundreds of megabytes.
        throw new MessageTooLargeError(
          `redis: message ${m.id} with its properties is ${packed} bytes, over Redis's limit on one value`,
        );
      }
      if (packer.length >= this.options.maxBatchSize || packer.bytes >= CHUNK_BYTES) {
        units.push({ buf: packer.unframed(), count: packer.length, elements: packer.elements });
        packer = new BatchPacker(hint);
      }
    }
    if (packer.length > 0)
      units.push({ buf: packer.unframed(), count: packer.length, elements: packer.elements });
    const ticket = new Ticket(stream, delayed, nomk, units, this.options.sendTimeoutMs, (t) =>
      this.sender.cancel(t),
    );
    void this.transmit(ticket, n);
    try {
      await ticket.promise;
    } catch (cause) {
      const what = `${address.kind} ${address.name}`;
      if (cause instanceof SendTimeout) {
        const state =
          this.client.status === "ready" ? "" : ` (Redis unreachable: connection ${this.client.status})`;
        throw new PublishError(`redis: sending to ${what} was not confirmed within ${cause.ms} ms${state}`);
      }
      if (isOmnibusError(cause)) throw cause;
      throw new PublishError(`redis: sending to ${what} failed: ${this.scrub.message(cause)}`, {
        cause: this.scrub.cause(cause),
      });
    }
    if (minDelay !== Number.POSITIVE_INFINITY) this.maintenance.scheduled(delayed, minDelay);
    if (address.kind === "topic" && !this.maintenance.hasStream(stream)) {
      // Trim what nobody reads: a topic without groups keeps nothing.
      this.maintenance.addStream(stream, false, true);
    }
  }

  /**
   * Get a ticket to Redis: connect first when there is no connection and ioredis is not making one
   * (never connected, or a connect() failed), then wait for back-pressure, then queue it. Never
   * rejects: failures settle the ticket, whose deadline bounds every step.
   */
  private async transmit(ticket: Ticket, n: number): Promise<void> {
    const status = this.client.status;
    if (status === "wait" || status === "end" || (this.connectFailed && status !== "ready")) {
      try {
        await this.connect();
      } catch (error) {
        ticket.fail(error);
        return;
      }
    }
    if (ticket.settled) return;
    await this.gate.acquire(n);
    try {
      if (ticket.settled) return;
      this.sender.enqueue(ticket);
      await ticket.promise;
    } catch (error) {
      ticket.fail(error);
    } finally {
      this.gate.release(n);
    }
  }

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    if (this.closed) throw new ClosedError("redis: adapter is closed");
    await this.connect();
    if (source.kind === "topic" && typeof source.group !== "string") {
      throw new ConfigError("redis: a topic consumer needs a group");
    }
    const keys =
      source.kind === "queue"
        ? queueKeys(this.options.prefix, source.name)
        : topicKeys(this.options.prefix, source.name, source.group);
    const consumer = new StreamConsumer(
      {
        client: this.client,
        options: this.options,
        acker: this.acker,
        maintenance: this.maintenance,
        scrub: this.scrub,
        clientId: this.clientId,
        newBlockingClient: () => this.newBlockingClient(),
        dropBlockingClient: (c) => {
          this.blockingClients.delete(c);
          c.disconnect();
        },
        ensureGroups: (k, recovering) => this.ensureGroups(k, recovering),
        log: (message, error) => this.log(message, error),
      },
      keys,
      options,
      source.kind === "queue" && source.ephemeral === true,
    );
    await consumer.start();
    this.consumers.add(consumer);
    const close = consumer.close.bind(consumer);
    return {
      stop: () => consumer.stop(),
      close: async () => {
        await close();
        this.consumers.delete(consumer);
      },
    };
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    await this.connect();
    await this.ensureGroups(topicKeys(this.options.prefix, topic, group), false);
  }

  /** `XINFO GROUPS` lag and pending, plus the delay schedules (see `stats.ts`). */
  async stats(source: Source): Promise<SourceStats> {
    await this.connect();
    const p = this.options.prefix;
    const keys =
      source.kind === "queue" ? queueKeys(p, source.name) : topicKeys(p, source.name, source.group);
    try {
      return await sourceStats(this.client, keys, source.kind === "queue");
    } catch (cause) {
      throw new ConnectionError(
        `redis: reading the state of ${source.kind} ${source.name} failed: ${this.scrub.message(cause)}`,
        { cause: this.scrub.cause(cause) },
      );
    }
  }

  async deleteQueue(name: string): Promise<void> {
    await this.connect();
    const { stream, delayed } = addressKeys(this.options.prefix, "queue", name);
    try {
      await this.client.del(stream, delayed);
    } catch (cause) {
      throw new ConnectionError(`redis: deleting queue ${name} failed: ${this.scrub.message(cause)}`, {
        cause: this.scrub.cause(cause),
      });
    }
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.connect();
    const { stream, delayed } = addressKeys(this.options.prefix, "topic", topic);
    try {
      // Every key of the topic shares its hash tag: one DEL, one slot. Groups live on the stream.
      const groups = await this.groupsOf(stream);
      const perGroup = groups.flatMap((g) => {
        const keys = topicKeys(this.options.prefix, topic, g);
        return [keys.retryStream, keys.retryDelayed];
      });
      await this.client.del(stream, delayed, ...perGroup);
    } catch (cause) {
      throw new ConnectionError(`redis: deleting topic ${topic} failed: ${this.scrub.message(cause)}`, {
        cause: this.scrub.cause(cause),
      });
    }
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    await this.connect();
    const keys = topicKeys(this.options.prefix, topic, group);
    try {
      await this.client.xgroup("DESTROY", keys.streams[0]!, group).catch((error: unknown) => {
        // No stream, no group: nothing to destroy.
        if (!/requires the key to exist|no such key/i.test(String((error as Error)?.message))) throw error;
      });
      await this.client.del(keys.retryStream, keys.retryDelayed);
    } catch (cause) {
      throw new ConnectionError(
        `redis: deleting group ${group} of ${topic} failed: ${this.scrub.message(cause)}`,
        { cause: this.scrub.cause(cause) },
      );
    }
  }

  /** The consumer groups on `stream` (none when it does not exist). */
  private async groupsOf(stream: string): Promise<string[]> {
    let info: unknown;
    try {
      info = await this.client.xinfo("GROUPS", stream);
    } catch (error) {
      if (/no such key/i.test(String((error as Error)?.message))) return [];
      throw error;
    }
    const names: string[] = [];
    for (const flat of (info as unknown[][]) ?? []) {
      const at = flat.findIndex((v) => String(v) === "name");
      if (at >= 0) names.push(String(flat[at + 1]));
    }
    return names;
  }

  /** Close everything; a second call waits for the first one to finish. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    this.consumers.clear();
    await within(this.acker.flush(), 2000);
    this.acker.close();
    this.maintenance.close();
    for (const c of this.blockingClients) c.disconnect();
    this.blockingClients.clear();
    if (this.ownsClient && this.client.status !== "wait" && this.client.status !== "end") {
      // QUIT lets pending replies arrive; when Redis is unreachable, just drop the connection.
      if (this.client.status === "ready") await within(this.client.quit(), 2000);
      const status: string = this.client.status;
      if (status !== "end") this.client.disconnect();
      // Wait for the socket to close, unless there is none (ioredis was waiting to reconnect).
      if (status !== "reconnecting") await within(ended(this.client), 1000);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Trim now (tests). */
  trimNow(): Promise<void> {
    return this.maintenance.trimNow();
  }

  /**
   * Create the groups of a source if missing. A queue's group starts at the beginning of the stream
   * (messages sent before the first consumer are kept); a topic group starts at the end (it gets
   * what is published from now on), except when `recovering` a group that vanished while we were
   * consuming (Redis lost its data): then at the beginning, so messages published since are kept.
   */
  private async ensureGroups(keys: SourceKeys, recovering: boolean): Promise<void> {
    const pipeline = this.client.pipeline();
    keys.streams.forEach((stream, i) => {
      const start = i === 0 && !recovering ? keys.startId : "0";
      pipeline.xgroup("CREATE", stream, keys.group, start, "MKSTREAM");
    });
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (cause) {
      throw new ConnectionError(`redis: creating consumer groups failed: ${this.scrub.message(cause)}`, {
        cause: this.scrub.cause(cause),
      });
    }
    for (const [error] of results ?? []) {
      if (error && !error.message.startsWith("BUSYGROUP")) {
        throw new ConnectionError(`redis: creating consumer group failed: ${this.scrub.message(error)}`, {
          cause: this.scrub.cause(error),
        });
      }
    }
  }

  private newBlockingClient(): RedisClient {
    const c = duplicateForBlocking(this.client);
    c.on("error", () => {});
    this.blockingClients.add(c);
    return c;
  }

  private log(message: string, error: unknown): void {
    this.logger.warn(`redis: ${message}`, { error: this.scrub.message(error) });
  }
}

/**
 * Wait for `promise` at most `ms`: `undefined` when it resolved in time, else how it failed. A
 * rejection after the deadline is swallowed.
 */
async function settleWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<{ timedOut: boolean; error?: unknown } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ timedOut: boolean }>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => undefined,
        (error: unknown) => ({ timedOut: false, error }),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `client` has ended (its connection closed for good). */
function ended(client: RedisClient): Promise<void> {
  if (client.status === "end") return Promise.resolve();
  return new Promise<void>((resolve) => client.once("end", () => resolve()));
}

/**
 * Resolves when `client` is ready; rejects when it ends (ioredis gave up reconnecting) or after
 * `ms`, taking its listeners off.
 */
function readyOrEnd(client: RedisClient, ms: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("end", onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(new Error("Connection is closed."));
    const timer = setTimeout(() => done(new Error(`not ready within ${ms} ms`)), ms);
    client.once("ready", onReady);
    client.once("end", onEnd);
  });
}

function uid(): string {
  return randomBytes(UID_LENGTH / 2).toString("hex");
}
