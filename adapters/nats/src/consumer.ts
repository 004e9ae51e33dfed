import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { ConsumeOptions, ConsumerHandle, Delivery, InboundMessage } from "@omnibus/core";
import { ConnectionError } from "@omnibus/core";
import { headersToEnvelope } from "./wire.js";

const ACK = new TextEncoder().encode("+ACK");
const NAK = new TextEncoder().encode("-NAK");
const WPI = new TextEncoder().encode("+WPI");

/** What a consumer needs from its adapter. */
export interface ConsumerHost {
  readonly nc: NatsConnection;
  /** Prefix of pull-request inboxes (`_INBOX` unless configured). */
  readonly inboxPrefix: string | undefined;
  /** `true` while the connection is up. */
  readonly connected: boolean;
  /** Note that `replyTo` names an ephemeral inbox (from `Omnibus-Reply-Inbox`). */
  rememberInbox(name: string): void;
  /** Called once when the consumer is closed. */
  forget(consumer: NatsConsumer): void;
}

/** A consumer the adapter tells about connection changes. */
export interface NatsConsumer extends ConsumerHandle {
  onDisconnect(): void;
  onReconnect(): void;
  /** The connection closed for good. */
  fail(error: Error): void;
}

/** Delivery facts in a JetStream ack subject (`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>…`). */
export interface AckInfo {
  stream: string;
  deliveryCount: number;
  streamSequence: number;
  timestampMs: number;
}

/** Parse a JetStream ack subject, old (9 tokens) or domain-qualified (12+ tokens) form. */
export function parseAckSubject(reply: string): AckInfo | undefined {
  const t = reply.split(".");
  if (t[0] !== "$JS" || t[1] !== "ACK") return undefined;
  const o = t.length === 9 ? 2 : t.length >= 12 ? 4 : -1;
  if (o < 0) return undefined;
  const deliveryCount = Number(t[o + 2]);
  if (!Number.isInteger(deliveryCount)) return undefined;
  return {
    stream: t[o]!,
    deliveryCount,
    streamSequence: Number(t[o + 3]),
    timestampMs: Math.floor(Number(t[o + 5]) / 1e6),
  };
}

/** Build the Omnibus view of a NATS message. */
export function toInbound(
  host: ConsumerHost,
  msg: Msg,
  attempt: number,
  info: AckInfo | undefined,
): InboundMessage {
  const env = headersToEnvelope(msg.headers as Iterable<[string, string[]]> | undefined);
  if (env.replyIsInbox && env.replyTo !== undefined) host.rememberInbox(env.replyTo);
  return {
    id: env.id ?? (info ? `${info.stream}:${info.streamSequence}` : `${msg.subject}:${msg.sid}`),
    body: msg.data,
    headers: env.headers,
    key: env.key,
    correlationId: env.correlationId,
    replyTo: env.replyTo,
    timestamp: env.timestamp ?? info?.timestampMs ?? Date.now(),
    attempt,
    native: msg,
  };
}

/** Settings of a {@link PullConsumer}. */
export interface PullSettings {
  readonly stream: string;
  readonly consumer: string;
  /** `$JS.API` unless a domain or prefix is configured. */
  readonly apiPrefix: string;
  readonly ackWaitMs: number;
  readonly pullExpiresMs: number;
  /** Make sure the stream and consumer exist (after a server restart or on first start). */
  readonly ensure: () => Promise<void>;
}

class JsDelivery implements Delivery {
  readonly message: InboundMessage;
  readonly reply: string;
  touched: number;
  settled = false;
  readonly #owner: PullConsumer;

  constructor(owner: PullConsumer, message: InboundMessage, reply: string) {
    this.#owner = owner;
    this.message = message;
    this.reply = reply;
    this.touched = Date.now();
  }

  ack(): Promise<void> {
    return this.#owner.settle(this, ACK);
  }

  nack(options?: { delayMs?: number }): Promise<void> {
    const delayMs = options?.delayMs ?? 0;
    // JetStream (2.7.1+) takes the delay in nanoseconds; 0 means at once.
    const payload =
      delayMs > 0
        ? new TextEncoder().encode(`-NAK ${JSON.stringify({ delay: Math.round(delayMs) * 1_000_000 })}`)
        : NAK;
    return this.#owner.settle(this, payload);
  }
}

/**
 * A durable pull consumer driven by hand: it asks the server for exactly as many messages as
 * `prefetch` leaves room for (handed out and unsettled + asked for ≤ prefetch), so the bound of
 * the SPI holds no matter how the server batches. Pull requests expire and are renewed; idle
 * heartbeats, reconnects and missing heartbeats reset them on a fresh inbox. Deliveries still
 * in a handler are reported in progress (`+WPI`) so that `ack_wait` never redelivers them.
 */
export class PullConsumer implements NatsConsumer {
  readonly #host: ConsumerHost;
  readonly #s: PullSettings;
  readonly #o: ConsumeOptions;
  readonly #next: string;
  readonly #threshold: number;
  readonly #heartbeatMs: number;
  readonly #unsettled = new Set<JsDelivery>();
  #sub: Subscription | undefined;
  #inbox = "";
  #requested = 0;
  #state: "running" | "stopped" | "closed" = "running";
  #lastSeen = Date.now();
  #resetting: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** Pending settlements: ack subject, payload, ack subject, payload… */
  #outbox: (string | Uint8Array)[] = [];
  #flushScheduled = false;

  constructor(host: ConsumerHost, settings: PullSettings, options: ConsumeOptions) {
    this.#host = host;
    this.#s = settings;
    this.#o = options;
    this.#next = `${settings.apiPrefix}.CONSUMER.MSG.NEXT.${settings.stream}.${settings.consumer}`;
    this.#threshold = Math.max(1, Math.min(256, Math.floor(options.prefetch / 4)));
    this.#heartbeatMs = Math.min(5_000, Math.floor(settings.pullExpiresMs / 2));
  }

  /** Subscribe and ask for the first batch. */
  start(): void {
    this.#subscribe();
    this.#topUp();
    const wip = Math.max(100, Math.floor(this.#s.ackWaitMs / 6));
    const progress = setInterval(() => this.#progress(), wip);
    const watchdog = setInterval(() => this.#watch(), this.#heartbeatMs);
    progress.unref();
    watchdog.unref();
    this.#timers.push(progress, watchdog);
  }

  #subscribe(): void {
    this.#inbox = createInbox(this.#host.inboxPrefix);
    const sub = this.#host.nc.subscribe(this.#inbox, {
      callback: (error, msg) => this.#onMessage(sub, error, msg),
    });
    this.#sub = sub;
    this.#requested = 0;
    this.#lastSeen = Date.now();
  }

  #onMessage(sub: Subscription, error: Error | null, msg: Msg): void {
    if (error) {
      // Only a permissions violation ends a subscription with an error: that is final.
      this.fail(
        new ConnectionError(`nats: cannot pull from ${this.#s.stream}: ${error.message}`, { cause: error }),
      );
      return;
    }
    const reply = msg.reply;
    if (!reply) {
      if (sub === this.#sub) this.#onStatus(msg);
      return;
    }
    if (sub !== this.#sub || this.#state !== "running") {
      // A message for a pull request we gave up on: give it back at once.
      try {
        this.#host.nc.publish(reply, NAK);
      } catch {
        // closed: the server redelivers it after ack_wait
      }
      return;
    }
    this.#lastSeen = Date.now();
    if (this.#requested > 0) this.#requested--;
    const info = parseAckSubject(reply);
    const delivery = new JsDelivery(this, toInbound(this.#host, msg, info?.deliveryCount ?? 1, info), reply);
    this.#unsettled.add(delivery);
    this.#o.onDelivery(delivery);
    this.#topUp();
  }

  #onStatus(msg: Msg): void {
    this.#lastSeen = Date.now();
    const h = msg.headers;
    const code = h?.code ?? 0;
    if (code === 100) return; // idle heartbeat
    const left = Number(h?.get("Nats-Pending-Messages") ?? "");
    if ((code === 408 || code === 409) && Number.isInteger(left) && left > 0) {
      // The request ended (expired, or cut short) with `left` messages undelivered.
      this.#requested = Math.max(0, this.#requested - left);
      this.#topUp();
      return;
    }
    if (code === 404 || code === 408) return; // nothing pending on that request
    if (code === 409 && /consumer deleted|consumer is deleted/i.test(h?.description ?? "")) {
      this.#reset(1_000);
      return;
    }
    // Anything else (leadership change, limits): start over on a fresh inbox shortly.
    this.#reset(250);
  }

  /** Ask for more when at least a quarter of prefetch is free. */
  #topUp(): void {
    if (this.#state !== "running" || this.#resetting || !this.#sub || !this.#host.connected) return;
    const free = this.#o.prefetch - this.#unsettled.size - this.#requested;
    if (free < this.#threshold) return;
    this.#requested += free;
    try {
      this.#host.nc.publish(
        this.#next,
        JSON.stringify({
          batch: free,
          expires: this.#s.pullExpiresMs * 1_000_000,
          idle_heartbeat: this.#heartbeatMs * 1_000_000,
        }),
        { reply: this.#inbox },
      );
    } catch {
      this.#requested -= free; // the connection is closing; the reconnect handler pulls again
    }
  }

  /**
   * Settle one delivery (ack, nak). Called by {@link JsDelivery}. Settlements are queued and
   * written together on the next turn of the event loop: one socket write for a burst of acks.
   */
  settle(delivery: JsDelivery, payload: Uint8Array): Promise<void> {
    if (delivery.settled) return Promise.resolve();
    if (this.#host.nc.isClosed()) {
      return Promise.reject(
        new ConnectionError(`nats: cannot settle message ${delivery.message.id}: the connection is closed`),
      );
    }
    delivery.settled = true;
    this.#unsettled.delete(delivery);
    this.#outbox.push(delivery.reply, payload);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
    this.#topUp();
    return Promise.resolve();
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const out = this.#outbox;
    this.#outbox = [];
    try {
      for (let i = 0; i < out.length; i += 2)
        this.#host.nc.publish(out[i] as string, out[i + 1] as Uint8Array);
    } catch {
      // Closed meanwhile: the server redelivers what was not settled.
    }
  };

  /** Report deliveries still being handled as in progress, so ack_wait does not expire. */
  #progress(): void {
    if (!this.#host.connected) return;
    const now = Date.now();
    const every = this.#s.ackWaitMs / 3;
    for (const d of this.#unsettled) {
      if (now - d.touched < every) continue;
      d.touched = now;
      try {
        this.#host.nc.publish(d.reply, WPI);
      } catch {
        return;
      }
    }
  }

  /** Missing heartbeats on an outstanding pull: the server lost our request; pull again. */
  #watch(): void {
    if (this.#state !== "running" || this.#resetting || !this.#host.connected) return;
    if (this.#requested === 0) {
      this.#lastSeen = Date.now();
      this.#topUp();
      return;
    }
    if (Date.now() - this.#lastSeen > this.#heartbeatMs * 2.5) this.#reset(0);
  }

  /** Drop the current inbox (its pull requests die with it), check the consumer, pull again. */
  #reset(delayMs: number): void {
    if (this.#state !== "running" || this.#resetting) return;
    const old = this.#sub;
    this.#sub = undefined;
    this.#requested = 0;
    if (old) void old.drain().catch(() => {});
    this.#resetting = (async () => {
      let wait = delayMs;
      while (this.#state === "running") {
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
        if (this.#state !== "running") return;
        if (!this.#host.connected) {
          wait = 250;
          continue;
        }
        try {
          await this.#s.ensure();
          this.#subscribe();
          return;
        } catch {
          wait = Math.min(5_000, Math.max(250, wait * 2));
        }
      }
    })().finally(() => {
      this.#resetting = undefined;
      this.#topUp();
    });
  }

  onDisconnect(): void {
    // Heartbeats stop while disconnected; the watchdog checks `connected`.
  }

  onReconnect(): void {
    // Pull requests do not survive a server restart; start over on a fresh inbox.
    this.#reset(0);
  }

  fail(error: Error): void {
    if (this.#state === "closed") return;
    const wasRunning = this.#state === "running";
    this.#state = "stopped";
    this.#clearTimers();
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    if (wasRunning) this.#o.onError(error);
  }

  async stop(): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "stopped";
    const sub = this.#sub;
    this.#sub = undefined;
    // Draining tells the server we are gone (it drops our waiting pull requests); a message it
    // sent meanwhile still reaches the callback and is given back with a NAK.
    if (sub && !this.#host.nc.isClosed()) await withTimeout(sub.drain(), 2_000);
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    await this.stop();
    this.#state = "closed";
    this.#clearTimers();
    this.#flush();
    // Anything core did not settle goes back at once rather than after ack_wait.
    for (const d of this.#unsettled) {
      d.settled = true;
      try {
        this.#host.nc.publish(d.reply, NAK);
      } catch {
        break;
      }
    }
    this.#unsettled.clear();
    this.#host.forget(this);
  }

  #clearTimers(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------

interface Pending {
  msg: Msg;
  attempt: number;
  /** The sender still waits for our acknowledgement. */
  unanswered: boolean;
}

class InboxDelivery implements Delivery {
  readonly message: InboundMessage;
  readonly #owner: EphemeralConsumer;
  readonly #pending: Pending;
  settled = false;

  constructor(owner: EphemeralConsumer, pending: Pending, message: InboundMessage) {
    this.#owner = owner;
    this.#pending = pending;
    this.message = message;
  }

  ack(): Promise<void> {
    this.#owner.settle(this, this.#pending, undefined);
    return Promise.resolve();
  }

  nack(options?: { delayMs?: number }): Promise<void> {
    this.#owner.settle(this, this.#pending, options?.delayMs ?? 0);
    return Promise.resolve();
  }
}

const INBOX_STREAM = "omnibus-inbox";

/**
 * An ephemeral queue (core's request-reply inbox) on core NATS: a plain subscription on the
 * queue's subject that answers each JetStream publish with a publish acknowledgement of its
 * own, so senders use the same code path as for any queue. Nothing is stored on the server and
 * nothing is left behind; a sender whose inbox is gone gets "no responders" at once. Messages
 * are acknowledged to the sender as they are handed to core, which gives back-pressure.
 */
export class EphemeralConsumer implements NatsConsumer {
  readonly #host: ConsumerHost;
  readonly #o: ConsumeOptions;
  readonly #queue: Pending[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #sub: Subscription | undefined;
  #unsettled = 0;
  #seq = 0;
  #state: "running" | "stopped" | "closed" = "running";
  readonly subject: string;

  constructor(host: ConsumerHost, subject: string, options: ConsumeOptions) {
    this.#host = host;
    this.subject = subject;
    this.#o = options;
  }

  start(): void {
    this.#sub = this.#host.nc.subscribe(this.subject, {
      callback: (error, msg) => {
        if (error) {
          this.fail(
            new ConnectionError(`nats: inbox subscription failed: ${error.message}`, { cause: error }),
          );
          return;
        }
        this.#queue.push({ msg, attempt: 1, unanswered: true });
        this.#pump();
      },
    });
  }

  #pump(): void {
    while (this.#state === "running" && this.#unsettled < this.#o.prefetch && this.#queue.length > 0) {
      const pending = this.#queue.shift()!;
      if (pending.unanswered) {
        pending.unanswered = false;
        this.#answer(pending.msg, JSON.stringify({ stream: INBOX_STREAM, seq: ++this.#seq }));
      }
      this.#unsettled++;
      this.#o.onDelivery(
        new InboxDelivery(this, pending, toInbound(this.#host, pending.msg, pending.attempt, undefined)),
      );
    }
  }

  #answer(msg: Msg, json: string): void {
    if (!msg.reply) return;
    try {
      msg.respond(json);
    } catch {
      // closed: the sender times out
    }
  }

  settle(delivery: InboxDelivery, pending: Pending, nackDelayMs: number | undefined): void {
    if (delivery.settled) return;
    delivery.settled = true;
    this.#unsettled--;
    if (nackDelayMs !== undefined && this.#state !== "closed") {
      const again = () => {
        this.#timers.delete(timer);
        if (this.#state === "closed") return;
        this.#queue.push({ msg: pending.msg, attempt: pending.attempt + 1, unanswered: false });
        this.#pump();
      };
      const timer = setTimeout(again, Math.max(0, nackDelayMs));
      timer.unref();
      this.#timers.add(timer);
    }
    this.#pump();
  }

  onDisconnect(): void {}
  onReconnect(): void {
    // The client re-subscribes by itself.
  }

  fail(error: Error): void {
    if (this.#state !== "running") return;
    this.#state = "stopped";
    this.#sub?.unsubscribe();
    this.#o.onError(error);
  }

  async stop(): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "stopped";
    this.#sub?.unsubscribe();
    // Make the server drop the interest before stop() resolves: a sender publishing right after
    // must get "no responders" at once, not a message delivered to a subscription that is gone.
    await this.#host.nc.flush().catch(() => {});
    // Senders still waiting learn at once that nobody took their message.
    for (const p of this.#queue) {
      if (p.unanswered) {
        this.#answer(p.msg, JSON.stringify({ error: { code: 503, description: "the inbox is closed" } }));
      }
    }
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    await this.stop();
    this.#state = "closed";
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#host.forget(this);
  }
}
