import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from "amqplib";
import { type Body, bodyBytes, parse } from "../payload.js";
import type { Driver, Progress } from "../types.js";

/**
 * amqplib as an expert writes it: `noDelay` (see DESIGN.md, Nagle), one confirm channel with
 * publishes pipelined and their confirms awaited per window, persistent messages to a durable
 * queue of the same type Omnibus declares (classic unless told otherwise), a consumer on its own
 * channel with a large prefetch acking every message, and RPC through direct reply-to.
 */
export class RawRabbitMQ implements Driver {
  readonly side = "raw";
  #conn: ChannelModel | undefined;
  #pub: ConfirmChannel | undefined;
  #admin: Channel | undefined;

  constructor(
    private readonly url: string,
    private readonly queueType: "quorum" | "classic" = "classic",
    private readonly prefetch = 1000,
  ) {}

  get #channel(): ConfirmChannel {
    if (!this.#pub) throw new Error("not connected");
    return this.#pub;
  }

  async connect(): Promise<void> {
    this.#conn = await amqp.connect(this.url, { noDelay: true });
    this.#pub = await this.#conn.createConfirmChannel();
    this.#admin = await this.#conn.createChannel();
  }

  async prepare(queue: string): Promise<void> {
    await this.#admin!.assertQueue(queue, { durable: true, arguments: { "x-queue-type": this.queueType } });
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const ch = await this.#conn!.createChannel();
    await ch.prefetch(this.prefetch);
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      onBody(parse(msg.content));
      ch.ack(msg);
    });
    return () => ch.close();
  }

  #publish(queue: string, content: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const ok = this.#channel.publish("", queue, content, { persistent: true }, (error) =>
        error ? reject(error) : resolve(),
      );
      if (!ok) this.#full = true;
    });
  }

  #full = false;

  #drained(): Promise<void> {
    this.#full = false;
    return new Promise((resolve) => this.#channel.once("drain", resolve));
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const confirms: Promise<void>[] = [];
    for (let i = from; i < to; i++) {
      confirms.push(this.#publish(queue, bodyBytes(i, size)));
      if (this.#full) await this.#drained();
    }
    await Promise.all(confirms);
  }

  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const confirms: Promise<void>[] = [];
    for (let i = from; i < to; i++) confirms.push(this.#publish(queue, bodyBytes(i, size, t)));
    await Promise.all(confirms);
  }

  /** The RabbitMQ RPC pattern: a request queue, direct reply-to (`amq.rabbitmq.reply-to`), correlation ids. */
  async rpc(queue: string, count: number, size: number, progress: Progress): Promise<number[]> {
    const server = await this.#conn!.createChannel();
    await server.prefetch(this.prefetch);
    await server.consume(queue, (msg) => {
      if (!msg) return;
      server.sendToQueue(msg.properties.replyTo as string, msg.content, {
        correlationId: msg.properties.correlationId as string,
      });
      server.ack(msg);
    });
    const client = await this.#conn!.createChannel();
    const waiting = new Map<string, (content: Buffer) => void>();
    await client.consume(
      "amq.rabbitmq.reply-to",
      (msg) => {
        if (msg) waiting.get(msg.properties.correlationId as string)?.(msg.content);
      },
      { noAck: true },
    );
    try {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const id = String(i);
        const reply = new Promise<Buffer>((resolve) => waiting.set(id, resolve));
        client.sendToQueue(queue, bodyBytes(i, size), {
          persistent: true,
          correlationId: id,
          replyTo: "amq.rabbitmq.reply-to",
        });
        const answer = parse(await reply);
        waiting.delete(id);
        out.push(performance.now() - start);
        if (answer.i !== i) throw new Error(`rpc: reply ${answer.i} to request ${i}`);
        if ((i & 63) === 0) progress(i, count);
      }
      return out;
    } finally {
      await client.close();
      await server.close();
    }
  }

  async cleanup(queue: string): Promise<void> {
    await this.#admin!.deleteQueue(queue).catch(() => {});
  }

  async close(): Promise<void> {
    await this.#conn?.close().catch(() => {});
  }
}
