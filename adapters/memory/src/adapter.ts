import {
  type Adapter,
  type Address,
  ClosedError,
  ConfigError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Features,
  type OutboundMessage,
  type Source,
  type SourceStats,
} from "@omnibus/core";
import { type MemoryBroker, type MemoryConsumer, type MemoryQueue, memoryBroker } from "./broker.js";
import { memoryStats } from "./stats.js";

/** Options of {@link memory}. */
export interface MemoryOptions {
  /**
   * The broker to join: clients with the same name share queues and topics.
   * @default "default"
   */
  name?: string;
  /**
   * Largest message accepted (body + headers), in bytes. Real brokers have limits; keeping one
   * here makes tests on `memory://` catch oversize messages too.
   * @default 1048576 (1 MiB)
   */
  maxMessageBytes?: number;
}

/** The escape hatch of the memory adapter. */
export interface MemoryNative {
  /** The shared in-process broker (inspect queue depths in tests). */
  readonly broker: MemoryBroker;
}

/**
 * The in-process broker: no network, no persistence, every feature. It is the embedded default
 * (`memory://`) and the reference semantics every other adapter is measured against.
 *
 * @example
 * ```ts
 * const bus = createClient({ adapter: memory() });
 * ```
 */
export function memory(options: MemoryOptions = {}): Adapter<MemoryNative> {
  return new MemoryAdapter(options);
}

/** Build from a `memory://[name]` URL (`?maxMessageBytes=N` is accepted). */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<MemoryNative> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigError(`invalid memory URL ${JSON.stringify(url)}`, { cause: error });
  }
  if (parsed.protocol !== "memory:") throw new ConfigError(`not a memory URL: ${JSON.stringify(url)}`);
  const name = decodeURIComponent(parsed.host || parsed.pathname.replace(/^\/+/, "")) || "default";
  for (const key of parsed.searchParams.keys()) {
    if (key !== "maxMessageBytes")
      throw new ConfigError(`memory: unknown URL parameter "${key}" (known: maxMessageBytes)`);
  }
  const max = parsed.searchParams.get("maxMessageBytes");
  return memory({
    name,
    ...(max === null ? {} : { maxMessageBytes: Number(max) }),
    ...(options as MemoryOptions),
  });
}

class MemoryAdapter implements Adapter<MemoryNative> {
  readonly name = "memory";
  readonly features: Features;
  readonly #broker: MemoryBroker;
  readonly #consumers = new Set<{
    queue: MemoryQueue;
    consumer: MemoryConsumer;
    ephemeral: string | undefined;
  }>();
  #closed = false;

  constructor(options: MemoryOptions) {
    const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1) {
      throw new ConfigError(
        `maxMessageBytes must be a positive integer, got ${String(options.maxMessageBytes)}`,
      );
    }
    this.#broker = memoryBroker(options.name ?? "default");
    this.features = Object.freeze({
      persistent: false,
      fanout: true,
      orderingByKey: true,
      delay: true,
      maxDelayMs: 2 ** 31 - 1,
      priority: true,
      maxPriority: 9,
      maxMessageBytes,
      maxBatchSize: Number.POSITIVE_INFINITY,
    });
  }

  get native(): MemoryNative {
    return { broker: this.#broker };
  }

  async connect(): Promise<void> {
    if (this.#closed) throw new ClosedError("memory adapter is closed");
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (this.#closed) throw new ClosedError("memory adapter is closed");
    for (const message of messages) {
      // Copy the body: the sender may reuse its buffer (`Buffer#slice` would not copy).
      const copy = { ...message, body: new Uint8Array(message.body) };
      if (address.kind === "queue") this.#broker.sendToQueue(address.name, copy);
      else this.#broker.publish(address.name, copy);
    }
  }

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    if (this.#closed) throw new ClosedError("memory adapter is closed");
    const queue =
      source.kind === "queue"
        ? this.#broker.declareQueue(source.name)
        : this.#broker.group(source.name, source.group);
    const consumer: MemoryConsumer = {
      prefetch: options.prefetch,
      unsettled: 0,
      active: true,
      onDelivery: options.onDelivery,
      held: new Set(),
    };
    const entry = {
      queue,
      consumer,
      ephemeral: source.kind === "queue" && source.ephemeral ? source.name : undefined,
    };
    this.#consumers.add(entry);
    queue.attach(consumer);
    return {
      stop: async () => queue.detach(consumer),
      close: async () => this.#release(entry),
    };
  }

  #release(entry: { queue: MemoryQueue; consumer: MemoryConsumer; ephemeral: string | undefined }): void {
    if (!this.#consumers.delete(entry)) return;
    entry.queue.remove(entry.consumer);
    if (entry.ephemeral) this.#broker.retireQueue(entry.ephemeral);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    this.#broker.group(topic, group);
  }

  async deleteQueue(name: string): Promise<void> {
    this.#broker.deleteQueue(name);
  }

  async deleteTopic(topic: string): Promise<void> {
    this.#broker.deleteTopic(topic);
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    this.#broker.deleteGroup(topic, group);
  }

  async stats(source: Source): Promise<SourceStats> {
    return memoryStats(this.#broker, source);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const entry of [...this.#consumers]) this.#release(entry);
  }
}
