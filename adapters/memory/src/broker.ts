import { type Delivery, type InboundMessage, type OutboundMessage, PublishError } from "@omnibus/core";

/** A message as the memory broker stores it. */
interface Stored {
  readonly message: OutboundMessage;
  attempt: number;
  readonly seq: number;
  /** Bumped on every delivery, so a stale delivery object cannot settle a later one. */
  tag?: number;
}

/** One consumer attached to a memory queue. */
export interface MemoryConsumer {
  readonly prefetch: number;
  unsettled: number;
  active: boolean;
  readonly onDelivery: (delivery: Delivery) => void;
  /** Deliveries handed out and not settled, to requeue if the consumer closes. */
  readonly held: Set<Stored>;
}

const PRIORITIES = 10;

/** A queue: priority buckets of FIFO lists, competing consumers served round-robin. */
export class MemoryQueue {
  readonly name: string;
  readonly #buckets: Stored[][] = Array.from({ length: PRIORITIES }, () => []);
  readonly #heads = new Array<number>(PRIORITIES).fill(0);
  #ready = 0;
  readonly #consumers: MemoryConsumer[] = [];
  #next = 0;
  readonly #timers = new Set<NodeJS.Timeout>();
  #dispatching = false;

  constructor(name: string) {
    this.name = name;
  }

  /** Messages waiting to be delivered (not counting delayed and in-flight ones). */
  get depth(): number {
    return this.#ready;
  }

  /** Messages delivered and not yet settled. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.#consumers) n += c.held.size;
    return n;
  }

  /** Add a message at delivery `attempt` with send sequence `seq`; with `delayMs` it is ready later. */
  enqueue(message: OutboundMessage, attempt: number, seq: number): void {
    const stored: Stored = { message, attempt, seq };
    if (message.delayMs && message.delayMs > 0) {
      this.#later(message.delayMs, () => this.#push(stored));
    } else {
      this.#push(stored);
    }
  }

  #push(stored: Stored): void {
    const bucket = Math.min(PRIORITIES - 1, Math.max(0, stored.message.priority ?? 0));
    this.#buckets[bucket]!.push(stored);
    this.#ready++;
    this.dispatch();
  }

  #later(delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, delayMs);
    timer.unref();
    this.#timers.add(timer);
  }

  #pop(): Stored | undefined {
    for (let p = PRIORITIES - 1; p >= 0; p--) {
      const bucket = this.#buckets[p]!;
      const head = this.#heads[p]!;
      if (head < bucket.length) {
        const stored = bucket[head]!;
        bucket[head] = undefined as unknown as Stored;
        this.#heads[p] = head + 1;
        if (head + 1 === bucket.length) {
          bucket.length = 0;
          this.#heads[p] = 0;
        } else if (head > 4096 && head * 2 > bucket.length) {
          bucket.splice(0, head + 1);
          this.#heads[p] = 0;
        }
        this.#ready--;
        return stored;
      }
    }
    return undefined;
  }

  /** Start delivering to `consumer`, round-robin with the queue's other consumers. */
  attach(consumer: MemoryConsumer): void {
    this.#consumers.push(consumer);
    this.dispatch();
  }

  /** Stop delivering to `consumer`; its unsettled deliveries stay valid. */
  detach(consumer: MemoryConsumer): void {
    consumer.active = false;
  }

  /** Remove `consumer`; what it still holds goes back to the queue with attempt + 1. */
  remove(consumer: MemoryConsumer): void {
    consumer.active = false;
    const index = this.#consumers.indexOf(consumer);
    if (index >= 0) this.#consumers.splice(index, 1);
    for (const stored of consumer.held) {
      stored.attempt++;
      this.#push(stored);
    }
    consumer.held.clear();
  }

  /** Hand ready messages, highest priority first, to active consumers below their prefetch. */
  dispatch(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (this.#ready > 0) {
        const consumer = this.#pickConsumer();
        if (!consumer) return;
        const stored = this.#pop()!;
        consumer.unsettled++;
        consumer.held.add(stored);
        consumer.onDelivery(this.#delivery(consumer, stored));
      }
    } finally {
      this.#dispatching = false;
    }
  }

  #pickConsumer(): MemoryConsumer | undefined {
    const n = this.#consumers.length;
    for (let i = 0; i < n; i++) {
      const consumer = this.#consumers[(this.#next + i) % n]!;
      if (consumer.active && consumer.unsettled < consumer.prefetch) {
        this.#next = (this.#next + i + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  #delivery(consumer: MemoryConsumer, stored: Stored): Delivery {
    const m = stored.message;
    const tag = (stored.tag = (stored.tag ?? 0) + 1);
    const message: InboundMessage = {
      id: m.id,
      // A copy per delivery: a handler that writes into its body must not change a redelivery
      // or another group's copy.
      body: new Uint8Array(m.body),
      headers: m.headers,
      key: m.key,
      correlationId: m.correlationId,
      replyTo: m.replyTo,
      timestamp: m.timestamp,
      attempt: stored.attempt,
      native: { seq: stored.seq, queue: this.name, priority: m.priority ?? 0 },
    };
    // Settling a delivery whose consumer was removed is a no-op: it was requeued already.
    const settle = (): boolean => {
      if (stored.tag !== tag || !consumer.held.delete(stored)) return false;
      consumer.unsettled--;
      return true;
    };
    return {
      message,
      // Requeued when its consumer was removed: a later settle is a no-op, another copy goes out.
      get stale() {
        return stored.tag !== tag || !consumer.held.has(stored);
      },
      ack: async () => {
        if (settle()) this.dispatch();
      },
      nack: async (options) => {
        if (!settle()) return;
        stored.attempt++;
        const delayMs = options?.delayMs ?? 0;
        if (delayMs > 0) this.#later(delayMs, () => this.#push(stored));
        else this.#push(stored);
        this.dispatch();
      },
    };
  }

  /** Drop everything (queue deleted). */
  destroy(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const bucket of this.#buckets) bucket.length = 0;
    this.#heads.fill(0);
    this.#ready = 0;
  }
}

/**
 * An in-process broker. Clients created with the same `memory://<name>` URL share one broker,
 * as processes share a real one.
 */
export class MemoryBroker {
  readonly name: string;
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #topics = new Map<string, Map<string, MemoryQueue>>();
  /** Ephemeral queues deleted with their consumer (the most recent 10,000). */
  readonly #retired = new Set<string>();
  #seq = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** The queue called `name`, created if missing. */
  queue(name: string): MemoryQueue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new MemoryQueue(name);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** The queue behind `group` of `topic`, created if missing. */
  group(topic: string, group: string): MemoryQueue {
    let groups = this.#topics.get(topic);
    if (!groups) {
      groups = new Map();
      this.#topics.set(topic, groups);
    }
    let queue = groups.get(group);
    if (!queue) {
      queue = new MemoryQueue(`${topic}/${group}`);
      groups.set(group, queue);
    }
    return queue;
  }

  /** Enqueue a message on queue `name`; `PublishError` when it was an ephemeral queue since deleted. */
  sendToQueue(name: string, message: OutboundMessage): void {
    if (this.#retired.has(name)) {
      // As a broker refuses to route to a deleted temporary queue (AMQP mandatory, NATS no responders).
      throw new PublishError(`memory: queue ${name} was ephemeral and has been deleted with its consumer`);
    }
    this.queue(name).enqueue(message, 1, this.#seq++);
  }

  /** Delete an ephemeral queue: later sends to it fail until a consumer declares it again. */
  retireQueue(name: string): void {
    this.deleteQueue(name);
    this.#retired.add(name);
    if (this.#retired.size > 10_000) this.#retired.delete(this.#retired.values().next().value!);
  }

  /** A consumer of `name` (re)declares it. */
  declareQueue(name: string): MemoryQueue {
    this.#retired.delete(name);
    return this.queue(name);
  }

  /** Enqueue a message on the queue of every group of `topic`; dropped when the topic has no group. */
  publish(topic: string, message: OutboundMessage): void {
    const groups = this.#topics.get(topic);
    if (!groups) return;
    const seq = this.#seq++;
    for (const queue of groups.values()) queue.enqueue(message, 1, seq);
  }

  /** Delete queue `name` and what it holds. */
  deleteQueue(name: string): void {
    this.#queues.get(name)?.destroy();
    this.#queues.delete(name);
  }

  /** Delete `topic` with every group of it and what they hold. */
  deleteTopic(topic: string): void {
    for (const queue of this.#topics.get(topic)?.values() ?? []) queue.destroy();
    this.#topics.delete(topic);
  }

  /** Delete `group` of `topic` and what it holds; the other groups keep theirs. */
  deleteGroup(topic: string, group: string): void {
    const groups = this.#topics.get(topic);
    groups?.get(group)?.destroy();
    groups?.delete(group);
    if (groups?.size === 0) this.#topics.delete(topic);
  }

  /** Queue `name` if it exists (never creates it). */
  findQueue(name: string): MemoryQueue | undefined {
    return this.#queues.get(name);
  }

  /** The queue of `group` of `topic` if it exists (never creates it). */
  findGroup(topic: string, group: string): MemoryQueue | undefined {
    return this.#topics.get(topic)?.get(group);
  }

  /** Names of the topics that have a group. */
  topicNames(): string[] {
    return [...this.#topics.keys()];
  }

  /** Names of the queues that exist. */
  queueNames(): string[] {
    return [...this.#queues.keys()];
  }
}

const brokers = new Map<string, MemoryBroker>();

/** The process-wide broker called `name`. */
export function memoryBroker(name = "default"): MemoryBroker {
  let broker = brokers.get(name);
  if (!broker) {
    broker = new MemoryBroker(name);
    brokers.set(name, broker);
  }
  return broker;
}
