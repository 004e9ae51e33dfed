import rhea, { type Connection, type Delivery, type EventContext, type Receiver, type Sender } from "rhea";
import { type Body, bodyBytes, parse } from "../payload.js";
import type { Driver, Progress } from "../types.js";

/**
 * rhea (AMQP 1.0) on ActiveMQ Artemis as an expert writes it: one connection with TCP_NODELAY, a
 * sender link per queue (durable messages to the anycast queue, the adapter's mapping), a window of
 * transfers in flight whose `accepted` dispositions are awaited together, and a receiver with
 * rhea's own credit window (1000) accepting each message. RPC: a request queue and a dynamic
 * (temporary) reply queue; the replier answers on an anonymous sender to `reply_to`.
 */
export class RawActiveMQ implements Driver {
  readonly side = "raw";
  #connection: Connection | undefined;
  readonly #senders = new Map<string, Sender>();
  /** Outcome callbacks of transfers awaiting their disposition. */
  readonly #pending = new Map<Delivery, (error?: Error) => void>();

  constructor(private readonly url: string) {}

  async connect(): Promise<void> {
    const u = new URL(this.url);
    const connection = rhea.create_container({ id: `bench-raw-${process.pid}` }).connect({
      host: u.hostname,
      port: Number(u.port || 61616),
      username: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      reconnect: false,
      noDelay: true,
    } as never);
    await new Promise<void>((resolve, reject) => {
      connection.once("connection_open", () => resolve());
      connection.once("disconnected", (c: EventContext) => reject(c.error ?? new Error("disconnected")));
    });
    this.#connection = connection;
  }

  async #sender(address: string | null): Promise<Sender> {
    const key = address ?? "";
    let sender = this.#senders.get(key);
    if (!sender) {
      sender = this.#connection!.open_sender(
        address === null ? { target: {} } : { target: { address, capabilities: ["queue"] } },
      );
      sender.on("accepted", (c: EventContext) => this.#settle(c.delivery!));
      for (const outcome of ["rejected", "released"])
        sender.on(outcome, (c: EventContext) =>
          this.#settle(c.delivery!, new Error(`${outcome} by the broker`)),
        );
      this.#senders.set(key, sender);
      await new Promise<void>((resolve) => sender!.once("sender_open", () => resolve()));
    }
    return sender;
  }

  #settle(delivery: Delivery, error?: Error): void {
    const done = this.#pending.get(delivery);
    this.#pending.delete(delivery);
    done?.(error);
  }

  /** Sends each body as credit allows; resolves once every one was accepted. */
  async #sendAll(address: string | null, bodies: Iterable<{ body: Buffer; to?: string }>): Promise<void> {
    const sender = await this.#sender(address);
    const outcomes: Promise<void>[] = [];
    for (const { body, to } of bodies) {
      while (!sender.sendable()) await new Promise((r) => sender.once("sendable", r));
      const delivery = sender.send({
        durable: true,
        ...(to === undefined ? {} : { to }),
        body: rhea.message.data_section(body),
      });
      outcomes.push(
        new Promise<void>((resolve, reject) =>
          this.#pending.set(delivery, (error) => (error ? reject(error) : resolve())),
        ),
      );
    }
    await Promise.all(outcomes);
  }

  async prepare(queue: string): Promise<void> {
    await this.#sender(queue); // the broker creates the anycast queue on attach
  }

  #receiver(queue: string | { dynamic: true }, onMessage: (c: EventContext) => void): Promise<Receiver> {
    const receiver = this.#connection!.open_receiver({
      source: typeof queue === "string" ? { address: queue, capabilities: ["queue"] } : (queue as never),
      credit_window: 1000,
      autoaccept: true,
    });
    receiver.on("message", onMessage);
    return new Promise((resolve) => receiver.once("receiver_open", () => resolve(receiver)));
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const receiver = await this.#receiver(queue, (c) => onBody(parse(bodyOf(c))));
    return async () => {
      receiver.close();
    };
  }

  sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    return this.#sendAll(
      queue,
      range(from, to, (i) => ({ body: toBuffer(bodyBytes(i, size)) })),
    );
  }

  sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    return this.#sendAll(
      queue,
      range(from, to, (i) => ({ body: toBuffer(bodyBytes(i, size, t)) })),
    );
  }

  async rpc(queue: string, count: number, size: number, progress: Progress): Promise<number[]> {
    const requests = `${queue}.rpc`;
    const replier = await this.#sender(null);
    const server = await this.#receiver(requests, (c) => {
      const to = c.message!.reply_to;
      if (to)
        replier.send({
          to,
          correlation_id: c.message!.message_id,
          body: rhea.message.data_section(bodyOf(c)),
        });
    });
    let answer: ((body: Buffer) => void) | undefined;
    const replies = await this.#receiver({ dynamic: true }, (c) => answer?.(bodyOf(c)));
    const replyTo = replies.source.address as string;
    const sender = await this.#sender(requests);
    try {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const reply = new Promise<Buffer>((resolve) => {
          answer = resolve;
        });
        while (!sender.sendable()) await new Promise((r) => sender.once("sendable", r));
        sender.send({
          message_id: i,
          reply_to: replyTo,
          body: rhea.message.data_section(toBuffer(bodyBytes(i, size))),
        });
        const body = parse(await reply);
        out.push(performance.now() - start);
        if (body.i !== i) throw new Error(`rpc: reply ${body.i} to request ${i}`);
        if ((i & 63) === 0) progress(i, count);
      }
      return out;
    } finally {
      server.close();
      replies.close();
      await this.cleanup(requests);
    }
  }

  async cleanup(queue: string): Promise<void> {
    this.#senders.get(queue)?.close();
    this.#senders.delete(queue);
    // Artemis management over AMQP: destroyQueue(name, removeConsumers, autoDeleteAddress).
    const replies = await this.#receiver({ dynamic: true }, () => done?.());
    let done: (() => void) | undefined;
    const answered = new Promise<void>((resolve) => {
      done = resolve;
      setTimeout(resolve, 5000).unref();
    });
    const management = await this.#sender("activemq.management");
    management.send({
      reply_to: replies.source.address,
      application_properties: { _AMQ_ResourceName: "broker", _AMQ_OperationName: "destroyQueue" },
      body: JSON.stringify([queue, true, true]),
    });
    await answered;
    replies.close();
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    if (!connection) return;
    await new Promise<void>((resolve) => {
      connection.once("connection_close", () => resolve());
      setTimeout(resolve, 2000).unref();
      connection.close();
    });
  }
}

function* range<T>(from: number, to: number, make: (i: number) => T): Iterable<T> {
  for (let i = from; i < to; i++) yield make(i);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function bodyOf(c: EventContext): Buffer {
  const body = c.message!.body as { content?: Buffer } | Buffer;
  return Buffer.isBuffer(body) ? body : (body.content ?? Buffer.alloc(0));
}
