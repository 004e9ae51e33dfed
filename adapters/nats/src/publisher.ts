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
  readonly subject: string;
  readonly body: (item: T) => Uint8Array;
  readonly headers: (item: T) => MsgHdrs;
}

/** One publish waiting for its PubAck (what it writes comes from its batch's functions). */
interface Pending<T> {
  batch: Batch<T>;
  item: T;
  deadline: number;
  /** The connection (see `Publisher.#link`) it was last written on; 0: not written yet. */
  link: number;
  /** When it was last written, on the sweeper's clock (to the sweep interval). */
  writtenAt: number;
}

/**
 * A publish with no PubAck this long after it was written goes out again on the same connection.
 * In a cluster the PubAck of a message in flight to a stream leader that dies never comes, while
 * the client's own connection (to another server) stays up; the new leader takes the resend.
 */
export const RESEND_AFTER_MS = 2_000;

const decoder = new TextDecoder();

/** `"error"` (a JetStream API error) in a reply, looked for in its bytes: no string per PubAck. */
const ERROR_KEY = [0x22, 0x65, 0x72, 0x72, 0x6f, 0x72, 0x22];
export function hasError(data: Uint8Array): boolean {
  const last = data.length - ERROR_KEY.length;
  outer: for (let i = 0; i <= last; i++) {
    if (data[i] !== 0x22) continue;
    for (let k = 1; k < ERROR_KEY.length; k++) if (data[i + k] !== ERROR_KEY[k]) continue outer;
    return true;
  }
  return false;
}

/**
 * JetStream publishing, pipelined: every message goes out with a reply subject under one
 * wildcard inbox subscription, and a batch resolves when the last PubAck of it arrives. Compared
 * with calling `js.publish()` per message this saves a promise, a timer, a request token and two
 * `Error` objects per message (the client builds a "cancelled" error even for a request that
 * succeeded), which is most of the client-side cost of a send. Deadlines are swept by one timer.
 *
 * **Reconnects.** A PubAck travels on the connection its publish went out on: when that
 * connection drops, the PubAcks still owed on it are gone, and so is whatever the client had
 * buffered (the client discards its outbound buffer on every dial, nats-io/nats.js#213). So on
 * a disconnect every publish still waiting is marked as written on a dead link, nothing new is
 * written while the link is down, and on the reconnect everything still waiting is published
 * again at once, in order, on the new connection (after the client has re-subscribed the reply
 * inbox). The resend carries the same `Nats-Msg-Id`, so a message the server had stored before
 * the drop is acknowledged as a duplicate, not stored twice. `publishTimeoutMs` stays the outer
 * bound of every publish, outages included.
 *
 * **Lost PubAcks on a live connection** (a stream leader killed in a cluster, a server overloaded):
 * a publish still unacknowledged {@link RESEND_AFTER_MS} after its write is written again, same
 * reply subject and `Nats-Msg-Id` (the first PubAck to come settles it; the server stores it once).
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
  readonly #resendAfterMs: number;
  /** The sweeper's clock: `Date.now()` at the last sweep (no clock read per write). */
  #now = Date.now();
  #seq = 0;
  #closed = false;
  /** Number of the current connection; odd while it is up, even while disconnected. */
  #link = 1;

  constructor(
    nc: NatsConnection,
    inboxPrefix: string | undefined,
    timeoutMs: number,
    maxInFlight: number,
    resendAfterMs = RESEND_AFTER_MS,
  ) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#resendAfterMs = resendAfterMs;
    this.#maxInFlight = maxInFlight;
    this.#prefix = `${createInbox(inboxPrefix)}.`;
    this.#sub = nc.subscribe(`${this.#prefix}*`, { callback: (_error, msg) => this.#onReply(msg) });
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(250, Math.max(10, timeoutMs / 4)));
    this.#sweeper.unref();
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  get #up(): boolean {
    return (this.#link & 1) === 1;
  }

  /**
   * The connection dropped: PubAcks still owed on it will never come, and what the client buffered
   * is discarded when it dials again. Publishes wait for {@link Publisher.onReconnect} from now on.
   */
  onDisconnect(): void {
    if (this.#up) this.#link++;
  }

  /**
   * Connected again: publish everything still waiting for a PubAck that the new connection has not
   * carried yet (same reply subject, same `Nats-Msg-Id`: the server drops what it already stored
   * and acknowledges it as a duplicate). The client has re-subscribed the reply inbox by now: it
   * sends its subscriptions before anything else on a new connection.
   */
  onReconnect(): void {
    if (this.#closed) return;
    if (!this.#up) this.#link++;
    for (const [seq, pending] of this.#pending) {
      if (pending.link === this.#link) continue;
      if (!this.#write(seq, pending)) return;
    }
  }

  /** Write one publish on the current connection; false (and it is settled) when the client refuses. */
  #write(seq: number, pending: Pending<unknown>): boolean {
    pending.link = this.#link;
    pending.writtenAt = this.#now;
    const batch = pending.batch;
    try {
      this.#nc.publish(batch.subject, batch.body(pending.item), {
        reply: this.#prefix + seq,
        headers: batch.headers(pending.item),
      });
      return true;
    } catch (error) {
      this.#pending.delete(seq);
      this.#settle(pending.batch, pending.item, new PubAckError("closed", (error as Error).message));
      this.#slotWaiters.shift()?.();
      return !this.#nc.isClosed();
    }
  }

  /**
   * Publish every item to `subject` and wait for all PubAcks. Resolves with the items that
   * failed (empty when all were stored); never rejects. A PubAck missing at `deadline` (epoch ms;
   * `publishTimeoutMs` from now by default) is a `timeout` failure. `body` and `headers` are
   * called at each write of an item (a resend after a reconnect calls them again): cheap lookups.
   */
  async publish<T>(
    subject: string,
    items: readonly T[],
    body: (item: T) => Uint8Array,
    headers: (item: T) => MsgHdrs,
    deadline?: number,
  ): Promise<Failure<T>[]> {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const batch: Batch<T> = { remaining: items.length, failed: [], done, subject, body, headers };
    for (const item of items) {
      if (this.#pending.size >= this.#maxInFlight && !this.#closed) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
      }
      if (this.#closed) {
        this.#settle(batch, item, new PubAckError("closed", "the connection is closed"));
        continue;
      }
      const seq = ++this.#seq;
      const pending: Pending<T> = {
        batch,
        item,
        deadline: deadline ?? Date.now() + this.#timeoutMs,
        link: 0,
        writtenAt: 0,
      };
      this.#pending.set(seq, pending as Pending<unknown>);
      // While disconnected it waits in `#pending` and goes out on the reconnect.
      if (this.#up) this.#write(seq, pending as Pending<unknown>);
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
    const data = msg.data;
    if (data.length === 0) {
      const code = msg.headers?.code ?? 0;
      error =
        code === 503
          ? new PubAckError("no-stream", "no stream or inbox listens on this subject")
          : new PubAckError("refused", `unexpected empty reply (status ${code})`);
    } else if (hasError(data)) {
      const text = decoder.decode(data);
      try {
        const e = (JSON.parse(text) as { error?: { code?: number; err_code?: number; description?: string } })
          .error;
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
    this.#settle(pending.batch, pending.item, error);
    this.#slotWaiters.shift()?.();
  }

  #sweep(): void {
    const now = Date.now();
    this.#now = now;
    // A resend after a lost stream keeps the deadline of its send, so insertion order is not
    // quite deadline order: look at every entry (at most maxInFlight, four times a second).
    for (const [seq, pending] of this.#pending) {
      if (pending.deadline > now) {
        // Written on this connection and unanswered for too long: again (see RESEND_AFTER_MS). Not
        // while disconnected: the link number has moved on then, and the reconnect resends.
        if (pending.link === this.#link && now - pending.writtenAt >= this.#resendAfterMs)
          if (!this.#write(seq, pending)) return;
        continue;
      }
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
