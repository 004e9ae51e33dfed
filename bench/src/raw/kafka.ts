import { type Admin, type Consumer, Kafka, logLevel, type Producer } from "kafkajs";
import { type Body, bodyBytes, parse } from "../payload.js";
import type { Driver } from "../types.js";

/**
 * kafkajs as an expert writes it: topics created up front (3 partitions, as the Omnibus adapter
 * declares), an idempotent producer (the adapter's delivery guarantee) sending a window per request
 * with `acks: -1`, and a consumer group read with `eachBatch` (offsets resolved per message,
 * committed by kafkajs). No raw RPC: Kafka has no natural request-reply.
 */
export class RawKafka implements Driver {
  readonly side = "raw";
  readonly rpcNote = "Kafka has no natural request-reply; no raw figure";
  readonly #kafka: Kafka;
  #producer: Producer | undefined;
  #admin: Admin | undefined;
  readonly #consumers = new Set<Consumer>();

  constructor(
    brokers: string[],
    private readonly partitions = 3,
  ) {
    this.#kafka = new Kafka({ clientId: "omnibus-bench-raw", brokers, logLevel: logLevel.NOTHING });
  }

  #topic(queue: string): string {
    return `benchraw.${queue}`;
  }

  async connect(): Promise<void> {
    this.#admin = this.#kafka.admin();
    await this.#admin.connect();
    // Idempotent, as the Omnibus adapter's producer is: the same delivery guarantee on both sides.
    this.#producer = this.#kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
    await this.#producer.connect();
  }

  async prepare(queue: string): Promise<void> {
    await this.#admin!.createTopics({
      topics: [{ topic: this.#topic(queue), numPartitions: this.partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const consumer = this.#kafka.consumer({ groupId: `benchraw-${queue}`, maxWaitTimeInMs: 100 });
    this.#consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: this.#topic(queue), fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (m.value) onBody(parse(m.value));
      },
    });
    await joined;
    return async () => {
      this.#consumers.delete(consumer);
      await consumer.disconnect();
    };
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ value: bodyBytes(i, size) });
    await this.#produce(queue, messages);
  }

  /** The messages due in a tick go in one produce request (Kafka's natural unit). */
  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ value: bodyBytes(i, size, t) });
    await this.#produce(queue, messages);
  }

  /**
   * One produce request per ~900 KB, all in flight at once: a broker refuses a request over its
   * `message.max.bytes` (1 MB by default), so large bodies are split as the adapter splits them
   * (its `maxRequestBytes`).
   */
  async #produce(queue: string, messages: { value: Buffer }[]): Promise<void> {
    const topic = this.#topic(queue);
    const requests: Promise<unknown>[] = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < messages.length; i++) {
      const size = messages[i]!.value.length + 64;
      if (i > start && bytes + size > 900_000) {
        requests.push(this.#producer!.send({ topic, acks: -1, messages: messages.slice(start, i) }));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    requests.push(this.#producer!.send({ topic, acks: -1, messages: messages.slice(start) }));
    await Promise.all(requests);
  }

  /**
   * Topics are deleted at close: on this single KRaft node, producing to a topic created right
   * after another was deleted fails with "This server does not host this topic-partition".
   */
  async cleanup(queue: string): Promise<void> {
    this.#created.push(this.#topic(queue));
  }

  readonly #created: string[] = [];

  async close(): Promise<void> {
    for (const c of this.#consumers) await c.disconnect().catch(() => {});
    if (this.#created.length > 0) await this.#admin?.deleteTopics({ topics: this.#created }).catch(() => {});
    await this.#producer?.disconnect().catch(() => {});
    await this.#admin?.disconnect().catch(() => {});
  }
}
