import { randomUUID } from "node:crypto";
import {
  AckPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import {
  connect,
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { type Body, bodyBytes, parse } from "../payload.js";
import type { Driver, Progress } from "../types.js";

/**
 * @nats-io/jetstream as an expert writes it: a work-queue stream on file storage (what Omnibus
 * declares), publishes pipelined on core NATS with a reply subject per message under one wildcard
 * inbox subscription (the PubAck's reply matched by its subject's sequence number, an `"error"`
 * in it counted as a failure), a window at a time — the fast way: `js.publish()` per message
 * costs a promise, a timer, a request token and two `Error` objects each, and measured about half
 * the rate. Each publish carries a `Nats-Msg-Id` (a random UUID), the guarantee Omnibus gives
 * too: a publish retried within the stream's duplicate window (after a lost PubAck, a reconnect)
 * is stored once. Its header block is written as bytes once per message and handed to
 * `publish()` as an object with `encode()` (all the client calls on headers), the cheapest way:
 * a `MsgHdrs` per message costs a `Map`, validation and an encode. A durable pull consumer read
 * with `consume({ max_messages: 1000 })` acking each message, and RPC with core NATS
 * request-reply (the natural NATS way: no stream, no persistence).
 */
/** A header block with `Nats-Msg-Id: <id>` alone, as `MsgHdrs.encode()` would write it. */
class MsgIdHeader {
  readonly #bytes: Buffer;
  constructor(id: string) {
    this.#bytes = Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${id}\r\n\r\n`, "latin1");
  }
  encode(): Uint8Array {
    return this.#bytes;
  }
}

const msgId = (id: string) => new MsgIdHeader(id) as unknown as MsgHdrs;

export class RawNats implements Driver {
  readonly side = "raw";
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  /** The PubAck inbox: `<prefix><seq>` per publish, one wildcard subscription. */
  #prefix = "";
  #acks: Subscription | undefined;
  #seq = 0;
  /** Publishes of the current window waiting for their PubAck, by sequence number. */
  readonly #waiting = new Map<number, () => void>();
  #failed = 0;

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
    this.#prefix = `${createInbox()}.`;
    this.#acks = this.#nc.subscribe(`${this.#prefix}*`, { callback: (_error, msg) => this.#onAck(msg) });
  }

  #onAck(msg: Msg): void {
    const seq = Number(msg.subject.slice(this.#prefix.length));
    const done = this.#waiting.get(seq);
    if (done === undefined) return;
    this.#waiting.delete(seq);
    // An empty reply (503: no stream) or a JSON error is a failed publish.
    if (
      msg.data.length === 0 ||
      Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.length).includes('"error"')
    )
      this.#failed++;
    done();
  }

  /** Publish `count` messages pipelined and wait for every PubAck (5 s at most). */
  async #publishAll(subject: string, count: number, body: (n: number) => Uint8Array): Promise<void> {
    let left = count;
    let resolve!: () => void;
    const all = new Promise<void>((r) => {
      resolve = r;
    });
    const one = () => {
      if (--left === 0) resolve();
    };
    for (let n = 0; n < count; n++) {
      const seq = ++this.#seq;
      this.#waiting.set(seq, one);
      this.#nc!.publish(subject, body(n), { reply: this.#prefix + seq, headers: msgId(randomUUID()) });
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      all,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`nats: ${left} PubAcks missing after 5 s`)), 5000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (this.#failed > 0) throw new Error(`nats: ${this.#failed} publishes refused`);
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
    await this.#publishAll(this.#names(queue).subject, to - from, (n) => bodyBytes(from + n, size));
  }

  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    await this.#publishAll(this.#names(queue).subject, to - from, (n) => bodyBytes(from + n, size, t));
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
    this.#acks?.unsubscribe();
    await this.#nc?.drain().catch(() => {});
  }
}
