import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";

/** Why one message was not acknowledged. */
export class PubAckError extends Error {
  /** `no-stream`: nobody listens on the subject (no stream, or an inbox that is gone). */
  readonly kind: "no-stream" | "timeout" | "refused" | "closed";
  /** JetStream API error code when the server refused the message. */
  readonly apiCode: number | undefined;
  constructor(kind: PubAckError["kind"], message: string, apiCode?: number) {
    super(message);
    this.name = "PubAckError";
    this.kind = kind;
    this.apiCode = apiCode;
  }
}

/** One message of a batch that failed. */
export interface Failure<T> {
  item: T;
  error: PubAckError;
}

interface Batch<T> {
  remaining: number;
  failed: Failure<T>[];
  done: () => void;
}

interface Pending<T> {
  batch: Batch<T>;
  item: T;
  deadline: number;
}

const decoder = new TextDecoder();

/**
 * JetStream publishing, pipelined: every message goes out with a reply subject under one
 * wildcard inbox subscription, and a batch resolves when the last PubAck of it arrives. Compared
 * with calling `js.publish()` per message this saves a promise, a timer, a request token and two
 * `Error` objects per message (the client builds a "cancelled" error even for a request that
 * succeeded), which is most of the client-side cost of a send. Deadlines are swept by one timer.
 */
export class Publisher {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<number, Pending<unknown>>();
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #sweeper: NodeJS.Timeout;
  readonly #slotWaiters: (() => void)[] = [];
  #seq = 0;
  #closed = false;

  constructor(nc: NatsConnection, inboxPrefix: string | undefined, timeoutMs: number, maxInFlight: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#maxInFlight = maxInFlight;
    this.#prefix = `${createInbox(inboxPrefix)}.`;
    this.#sub = nc.subscribe(`${this.#prefix}*`, { callback: (_error, msg) => this.#onReply(msg) });
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(250, Math.max(10, timeoutMs / 4)));
    this.#sweeper.unref();
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Publish every item to `subject` and wait for all PubAcks. Resolves with the items that
   * failed (empty when all were stored); never rejects.
   */
  async publish<T>(
    subject: string,
    items: readonly T[],
    body: (item: T) => Uint8Array,
    headers: (item: T) => MsgHdrs,
  ): Promise<Failure<T>[]> {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const batch: Batch<T> = { remaining: items.length, failed: [], done };
    for (const item of items) {
      if (this.#pending.size >= this.#maxInFlight && !this.#closed) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
      }
      if (this.#closed) {
        this.#settle(batch, item, new PubAckError("closed", "the connection is closed"));
        continue;
      }
      const seq = ++this.#seq;
      this.#pending.set(seq, { batch, item, deadline: Date.now() + this.#timeoutMs } as Pending<unknown>);
      try {
        this.#nc.publish(subject, body(item), { reply: this.#prefix + seq, headers: headers(item) });
      } catch (error) {
        this.#pending.delete(seq);
        this.#settle(batch, item, new PubAckError("closed", (error as Error).message));
      }
    }
    if (batch.remaining > 0) await finished;
    return batch.failed;
  }

  #settle<T>(batch: Batch<T>, item: T, error: PubAckError | undefined): void {
    if (error) batch.failed.push({ item, error });
    if (--batch.remaining === 0) batch.done();
  }

  #onReply(msg: Msg): void {
    const seq = Number(msg.subject.slice(this.#prefix.length));
    const pending = this.#pending.get(seq);
    if (!pending) return; // late, after its deadline
    this.#pending.delete(seq);
    let error: PubAckError | undefined;
    if (msg.data.length === 0) {
      const code = msg.headers?.code ?? 0;
      error =
        code === 503
          ? new PubAckError("no-stream", "no stream or inbox listens on this subject")
          : new PubAckError("refused", `unexpected empty reply (status ${code})`);
    } else {
      const text = decoder.decode(msg.data);
      if (text.includes('"error"')) {
        try {
          const e = (
            JSON.parse(text) as { error?: { code?: number; err_code?: number; description?: string } }
          ).error;
          if (e) {
            error = new PubAckError(
              e.code === 503 && e.err_code === undefined ? "no-stream" : "refused",
              e.description ?? "refused by the server",
              e.err_code,
            );
          }
        } catch {
          error = new PubAckError("refused", `unreadable reply: ${text.slice(0, 100)}`);
        }
      }
    }
    this.#settle(pending.batch, pending.item, error);
    this.#slotWaiters.shift()?.();
  }

  #sweep(): void {
    const now = Date.now();
    // Insertion order is deadline order (one timeout for all), so stop at the first live one.
    for (const [seq, pending] of this.#pending) {
      if (pending.deadline > now) break;
      this.#pending.delete(seq);
      this.#settle(
        pending.batch,
        pending.item,
        new PubAckError("timeout", `no acknowledgement from the server within ${this.#timeoutMs} ms`),
      );
      this.#slotWaiters.shift()?.();
    }
  }

  /** Fail everything still waiting and stop. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const [seq, pending] of this.#pending) {
      this.#pending.delete(seq);
      this.#settle(
        pending.batch,
        pending.item,
        new PubAckError("closed", "the adapter closed before the server acknowledged"),
      );
    }
    for (const wake of this.#slotWaiters.splice(0)) wake();
    try {
      this.#sub.unsubscribe();
    } catch {
      // already closed
    }
  }
}
