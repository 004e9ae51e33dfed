import { PubSub, type Subscription, type Topic } from "@google-cloud/pubsub";
import { type Body, bodyBytes, parse } from "../payload.js";
import type { Driver } from "../types.js";

/**
 * @google-cloud/pubsub as its documentation has it: a topic with one subscription, publishes
 * through the library's batching publisher (`publishMessage`, up to 1,000 messages or 10 ms per
 * batch) awaited a window at a time, and the streaming-pull `Subscription` with flow control of
 * 1,000 messages, acking each. No request-reply: Pub/Sub has none of its own.
 */
export class RawPubsub implements Driver {
  readonly side = "raw";
  readonly rpcNote = "Pub/Sub has no request-reply of its own";
  #client: PubSub | undefined;
  readonly #topics = new Map<string, Topic>();

  constructor(private readonly emulatorHost: string) {}

  #id(queue: string): string {
    return `benchraw.${queue.replace(/[^A-Za-z0-9._-]/g, "_")}`;
  }

  async connect(): Promise<void> {
    this.#client = new PubSub({
      projectId: "omnibus",
      apiEndpoint: this.emulatorHost,
      emulatorMode: true,
      universeDomain: "googleapis.com",
    });
  }

  #topic(queue: string): Topic {
    let topic = this.#topics.get(queue);
    if (!topic) {
      topic = this.#client!.topic(this.#id(queue), {
        batching: { maxMessages: 1000, maxMilliseconds: 10 },
      });
      this.#topics.set(queue, topic);
    }
    return topic;
  }

  async prepare(queue: string): Promise<void> {
    const [topic] = await this.#client!.createTopic(this.#id(queue));
    await topic.createSubscription(this.#id(queue), { ackDeadlineSeconds: 30 });
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const subscription: Subscription = this.#client!.subscription(this.#id(queue), {
      flowControl: { maxMessages: 1000, allowExcessMessages: false },
    });
    subscription.on("message", (m) => {
      onBody(parse(m.data));
      m.ack();
    });
    subscription.on("error", () => {});
    return async () => {
      await subscription.close();
    };
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const topic = this.#topic(queue);
    const acks: Promise<unknown>[] = [];
    for (let i = from; i < to; i++)
      acks.push(topic.publishMessage({ data: Buffer.from(bodyBytes(i, size)) }));
    await Promise.all(acks);
  }

  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const topic = this.#topic(queue);
    const acks: Promise<unknown>[] = [];
    for (let i = from; i < to; i++)
      acks.push(topic.publishMessage({ data: Buffer.from(bodyBytes(i, size, t)) }));
    await Promise.all(acks);
  }

  async cleanup(queue: string): Promise<void> {
    const id = this.#id(queue);
    await this.#client!.subscription(id)
      .delete()
      .catch(() => {});
    await this.#client!.topic(id)
      .delete()
      .catch(() => {});
    this.#topics.delete(queue);
  }

  async close(): Promise<void> {
    await this.#client?.close().catch(() => {});
  }
}
