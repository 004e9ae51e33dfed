import { randomBytes, randomUUID } from "node:crypto";
import type {
  Adapter,
  Address,
  ConsumeOptions,
  ConsumerHandle,
  Features,
  OutboundMessage,
  Source,
} from "@omnibus/core";
import {
  ClosedError,
  ConfigError,
  ConnectionError,
  MessageTooLargeError,
  maskUrl,
  PublishError,
} from "@omnibus/core";
import { Cluster, Redis } from "ioredis";
import { Acker } from "./acker.js";
import { duplicateForBlocking, type RedisClient } from "./client.js";
import { BatchPacker } from "./codec.js";
import { installScripts } from "./commands.js";
import { StreamConsumer } from "./consumer.js";
import { addressKeys, queueKeys, type SourceKeys, topicKeys } from "./keys.js";
import { Maintenance } from "./maintenance.js";
import type { ResolvedOptions } from "./options.js";
import { UID_LENGTH } from "./scripts.js";
import { CHUNK_BYTES, Sender, type Unit } from "./sender.js";
import { within } from "./util.js";

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
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: ResolvedOptions) {
    this.features = {
      persistent: options.persistent,
      fanout: true,
      orderingByKey: false,
      delay: true,
      maxDelayMs: Number.POSITIVE_INFINITY,
      priority: false,
      maxPriority: 0,
      maxMessageBytes: options.maxMessageBytes,
      maxBatchSize: options.maxBatchSize,
    };
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else if (options.cluster) {
      this.client = new Cluster(options.cluster.nodes, { ...options.cluster.options, lazyConnect: true });
      this.ownsClient = true;
    } else {
      this.client = new Redis(options.url, { ...options.redis, lazyConnect: true });
      this.ownsClient = true;
    }
    this.client.on("error", () => {
      // ioredis reconnects by itself; failed commands reject on their own.
    });
    installScripts(this.client);
    this.acker = new Acker(this.client, (error) => this.log("acknowledgements failed", error));
    this.maintenance = new Maintenance(this.client, options, (error) =>
      this.log("maintenance failed", error),
    );
    this.gate = new Gate(options.maxInFlightSends);
    this.sender = new Sender(this.client, options.maxBatchSize);
    const blockingClients = this.blockingClients;
    const client = this.client;
    this.native = { client, blockingClients };
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError("redis: adapter is closed"));
    this.connecting ??= this.doConnect().catch((error) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const status = this.client.status;
    try {
      if (status === "wait" || status === "end") await this.client.connect();
      else if (status !== "ready") await this.client.ping();
    } catch (cause) {
      if (this.ownsClient) this.client.disconnect();
      throw new ConnectionError(
        `redis: cannot connect to ${this.describeTarget()}: ${(cause as Error).message}`,
        { cause },
      );
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
      const [, appendonly] = (await this.client.config("GET", "appendonly")) as string[];
      const [, fsync] = (await this.client.config("GET", "appendfsync")) as string[];
      if (appendonly !== "yes") {
        this.options.logger.warn(
          "redis: persistent is declared but the server has appendonly no: a restart loses every message",
        );
      } else if (fsync !== "always") {
        this.options.logger.warn(
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
    const tooLarge = (m: OutboundMessage, bytes: number) =>
      new MessageTooLargeError(
        `redis: message ${m.id} is ${bytes} bytes, over maxMessageBytes ${this.options.maxMessageBytes}`,
      );
    let minDelay = Number.POSITIVE_INFINITY;
    // Pack everything first: an oversized message fails the call before anything is sent.
    let estimate = 0;
    for (const m of messages) estimate += m.body.byteLength + 256;
    const hint = Math.min(estimate, CHUNK_BYTES * 2);
    const units: Unit[] = [];
    let packer = new BatchPacker(hint);
    for (const m of messages) {
      const delay = delayOf(m);
      if (delay > 0) minDelay = Math.min(minDelay, delay);
      const bytes = packer.add(m, delay, delay > 0 ? uid() : "");
      if (bytes > this.options.maxMessageBytes) throw tooLarge(m, bytes);
      if (packer.length >= this.options.maxBatchSize || packer.bytes >= CHUNK_BYTES) {
        units.push({ buf: packer.unframed(), count: packer.length, elements: packer.elements });
        packer = new BatchPacker(hint);
      }
    }
    if (packer.length > 0)
      units.push({ buf: packer.unframed(), count: packer.length, elements: packer.elements });
    await this.gate.acquire(n);
    try {
      await this.sender.send(stream, delayed, nomk, units);
    } catch (cause) {
      throw new PublishError(
        `redis: sending to ${address.kind} ${address.name} failed: ${(cause as Error).message}`,
        { cause },
      );
    } finally {
      this.gate.release(n);
    }
    if (minDelay !== Number.POSITIVE_INFINITY) this.maintenance.scheduled(delayed, minDelay);
    if (address.kind === "topic" && !this.maintenance.hasStream(stream)) {
      // Trim what nobody reads: a topic without groups keeps nothing.
      this.maintenance.addStream(stream, false, true);
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

  async deleteQueue(name: string): Promise<void> {
    await this.connect();
    const { stream, delayed } = addressKeys(this.options.prefix, "queue", name);
    try {
      await this.client.del(stream, delayed);
    } catch (cause) {
      throw new ConnectionError(`redis: deleting queue ${name} failed: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    this.consumers.clear();
    await within(this.acker.flush(), 2000);
    this.maintenance.close();
    for (const c of this.blockingClients) c.disconnect();
    this.blockingClients.clear();
    if (this.ownsClient && this.client.status !== "wait" && this.client.status !== "end") {
      // QUIT lets pending replies arrive; when Redis is unreachable, just drop the connection.
      if (this.client.status === "ready") await within(this.client.quit(), 2000);
      this.client.disconnect();
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
      throw new ConnectionError(`redis: creating consumer groups failed: ${(cause as Error).message}`, {
        cause,
      });
    }
    for (const [error] of results ?? []) {
      if (error && !error.message.startsWith("BUSYGROUP")) {
        throw new ConnectionError(`redis: creating consumer group failed: ${error.message}`, {
          cause: error,
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
    this.options.logger.warn(`redis: ${message}`, {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** Core's request-reply inboxes (ephemeral queues) are named `omnibus.inbox.<client id>`. */
const INBOX_PREFIX = "omnibus.inbox.";

function uid(): string {
  return randomBytes(UID_LENGTH / 2).toString("hex");
}
