import {
  AckPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Body, bodyBytes, parse } from "../payload.js";
import type { Driver, Progress } from "../types.js";

/**
 * @nats-io/jetstream as an expert writes it: a work-queue stream on file storage (what Omnibus
 * declares), publishes with many PubAcks in flight (a window at a time), a durable pull consumer
 * read with `consume({ max_messages: 1000 })` acking each message, and RPC with core NATS
 * request-reply (the natural NATS way: no stream, no persistence).
 */
export class RawNats implements Driver {
  readonly side = "raw";
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;

  constructor(
    private readonly url: string,
    private readonly maxMessages = 1000,
  ) {}

  #names(queue: string) {
    const safe = queue.replace(/[^A-Za-z0-9_-]/g, "_");
    return { stream: `BENCHRAW_${safe}`, subject: `benchraw.${safe}` };
  }

  async connect(): Promise<void> {
    this.#nc = await connect({ servers: this.url });
    this.#js = jetstream(this.#nc);
    this.#jsm = await jetstreamManager(this.#nc);
  }

  async prepare(queue: string): Promise<void> {
    const { stream, subject } = this.#names(queue);
    await this.#jsm!.streams.add({
      name: stream,
      subjects: [subject],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
    });
    await this.#jsm!.consumers.add(stream, { durable_name: "c", ack_policy: AckPolicy.Explicit });
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const consumer = await this.#js!.consumers.get(this.#names(queue).stream, "c");
    const messages = await consumer.consume({ max_messages: this.maxMessages });
    const loop = (async () => {
      for await (const m of messages) {
        onBody(parse(m.data));
        m.ack();
      }
    })();
    return async () => {
      await messages.close();
      await loop.catch(() => {});
    };
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const { subject } = this.#names(queue);
    const acks: Promise<unknown>[] = [];
    for (let i = from; i < to; i++) acks.push(this.#js!.publish(subject, bodyBytes(i, size)));
    await Promise.all(acks);
  }

  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const { subject } = this.#names(queue);
    const acks: Promise<unknown>[] = [];
    for (let i = from; i < to; i++) acks.push(this.#js!.publish(subject, bodyBytes(i, size, t)));
    await Promise.all(acks);
  }

  async rpc(queue: string, count: number, size: number, progress: Progress): Promise<number[]> {
    const subject = `benchraw.rpc.${this.#names(queue).stream}`;
    const sub = this.#nc!.subscribe(subject, {
      callback: (error, msg) => {
        if (!error) msg.respond(msg.data);
      },
    });
    await this.#nc!.flush();
    try {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const reply = await this.#nc!.request(subject, bodyBytes(i, size), { timeout: 5000 });
        const answer = parse(reply.data);
        out.push(performance.now() - start);
        if (answer.i !== i) throw new Error(`rpc: reply ${answer.i} to request ${i}`);
        if ((i & 63) === 0) progress(i, count);
      }
      return out;
    } finally {
      sub.unsubscribe();
    }
  }

  async cleanup(queue: string): Promise<void> {
    await this.#jsm!.streams.delete(this.#names(queue).stream).catch(() => {});
  }

  async close(): Promise<void> {
    await this.#nc?.drain().catch(() => {});
  }
}
