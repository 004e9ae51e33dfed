import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { ConsumeOptions, ConsumerHandle, Delivery, InboundMessage } from "@omnibus/core";
import { ConfigError, ConnectionError } from "@omnibus/core";
import { headersToEnvelope, ID_ONLY_SIZE, idOnlyBlock } from "./wire.js";

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
  /** Resolves at the next disconnect (a request then in flight gets no answer). */
  readonly nextDisconnect: Promise<void>;
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

/** Where the dots of the ack subject being parsed are (reused: no array per message). */
const DOTS = new Int32Array(16);

function parseBySplit(reply: string): AckInfo | undefined {
  const t = reply.split(".");
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

/** Parse a JetStream ack subject, old (9 tokens) or domain-qualified (12+ tokens) form. */
export function parseAckSubject(reply: string): AckInfo | undefined {
  if (!reply.startsWith("$JS.ACK.")) return undefined;
  // Token k spans DOTS[k - 1] + 1 .. DOTS[k] (DOTS[-1] is taken as -1, the last ends the string).
  let n = 0;
  for (let at = reply.indexOf("."); at >= 0; at = reply.indexOf(".", at + 1)) {
    if (n === DOTS.length) return parseBySplit(reply); // not a subject the server writes
    DOTS[n++] = at;
  }
  const tokens = n + 1;
  const o = tokens === 9 ? 2 : tokens >= 12 ? 4 : -1;
  if (o < 0) return undefined;
  const token = (k: number) => reply.slice(DOTS[k - 1]! + 1, k < n ? DOTS[k] : reply.length);
  const deliveryCount = Number(token(o + 2));
  if (!Number.isInteger(deliveryCount)) return undefined;
  return {
    stream: token(o),
    deliveryCount,
    streamSequence: Number(token(o + 3)),
    timestampMs: Math.floor(Number(token(o + 5)) / 1e6),
  };
}

/**
 * The header block of a delivered message when it has the size of an id-only block, read from
 * the client's message object (`@nats-io/nats-core` 3.x `MsgImpl`: `_msg.hdr` bytes of headers
 * at the start of `_rdata`) without decoding it into a `MsgHdrs`; `undefined` otherwise, or when
 * the client keeps it some other way (the caller then reads `msg.headers`).
 */
export function idOnlyHeaders(msg: Msg): Uint8Array | undefined {
  const m = msg as unknown as { _msg?: { hdr?: unknown }; _rdata?: unknown };
  if (m._msg?.hdr !== ID_ONLY_SIZE || !(m._rdata instanceof Uint8Array)) return undefined;
  return m._rdata.length >= ID_ONLY_SIZE ? m._rdata.subarray(0, ID_ONLY_SIZE) : undefined;
}

/** Build the Omnibus view of a NATS message. */
export function toInbound(
  host: ConsumerHost,
  msg: Msg,
  attempt: number,
  info: AckInfo | undefined,
): InboundMessage {
  // What core's sends mostly are (an id, nothing else): no MsgHdrs, no header lines to walk.
  const block = idOnlyHeaders(msg);
  const fast = block && idOnlyBlock(block);
  if (fast) {
    return {
      id: fast.id,
      body: msg.data,
      headers: {},
      key: undefined,
      correlationId: undefined,
      replyTo: undefined,
      timestamp: fast.timestamp,
      attempt,
      native: msg,
    };
  }
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

/** What the server says about the durable consumer a {@link PullConsumer} reads. */
export interface DurableFacts {
  /** The consumer's `ack_wait` on the server (which may differ from the option, see the README). */
  readonly ackWaitMs: number;
  /** Highest stream sequence the server has delivered (0 when none, or not known). */
  readonly delivered: number;
  /** Stream sequence up to which the server counts every message as acknowledged. */
  readonly ackFloor: number;
  /** The durable did not exist and was just created. */
  readonly created: boolean;
}

/** Settings of a {@link PullConsumer}. */
export interface PullSettings {
  readonly stream: string;
  readonly consumer: string;
  /** `$JS.API` unless a domain or prefix is configured. */
  readonly apiPrefix: string;
  /** The durable's `ack_wait` when the consumer starts. */
  readonly ackWaitMs: number;
  readonly pullExpiresMs: number;
  /**
   * Make sure the stream and consumer exist (after a server restart or on first start); ends with
   * a consumer info request, so it also does what {@link PullSettings.inspect} does.
   */
  readonly ensure: () => Promise<DurableFacts>;
  /**
   * Ask the server for the consumer's info. Besides the answer, this has an effect the consumer
   * relies on: the server drops waiting pull requests whose inbox has no subscriber any more
   * (nats-server runs `processWaiting` for every consumer info request).
   */
  readonly inspect: () => Promise<DurableFacts>;
}

class JsDelivery implements Delivery {
  readonly message: InboundMessage;
  readonly reply: string;
  /** Stream sequence (0 when the ack subject could not be read). */
  readonly seq: number;
  /** Last time the server heard of it (delivered, or `+WPI`): its `ack_wait` runs from here. */
  touched: number;
  settled = false;
  /** The server delivers it again (see {@link PullConsumer.stale}); its prefetch slot is free. */
  gone = false;
  readonly #owner: PullConsumer;

  constructor(owner: PullConsumer, message: InboundMessage, reply: string, seq: number) {
    this.#owner = owner;
    this.message = message;
    this.reply = reply;
    this.seq = seq;
    this.touched = Date.now();
  }

  /**
   * A JetStream delivery is not tied to a connection: its ack subject settles it on any
   * connection, so a disconnect alone does not make it stale (settlements made meanwhile are
   * sent after the reconnect). It is stale once the server delivers it again: its `ack_wait`
   * ran out without a `+WPI` (an outage that long), or the server came back without having
   * delivered it (a state lost in a crash, a consumer created again).
   */
  get stale(): boolean {
    if (this.gone) return true;
    if (this.settled || !this.#owner.expired(this)) return false;
    this.#owner.lose(this); // stays stale from now on
    return true;
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
 * The idle heartbeat a pull request asks for (at most; half of `pullExpiresMs` when that is
 * less). A pull request the server lost (its consumer's leader died on a cluster, the server
 * restarted) shows only as missing heartbeats: with 5 s it took 12.5-17.5 s to notice, now 3-4 s.
 */
export const HEARTBEAT_MS = 1_000;
/** Heartbeats missed in a row before the pull request counts as lost. */
const MISSED_HEARTBEATS = 3;
/** How long a reset's consumer check may go unanswered before it is sent again. */
const ENSURE_ATTEMPT_MS = 2_000;
const UNANSWERED = Symbol("unanswered");
function unanswered(ms: number): Promise<typeof UNANSWERED> {
  return new Promise((resolve) => setTimeout(() => resolve(UNANSWERED), ms).unref());
}

/** The wait before a reset checks the consumer again after a failed check: 250 ms doubling to 1 s. */
export function resetRetryDelay(previous: number): number {
  return Math.min(1_000, Math.max(250, previous * 2));
}

/** How long a dropped inbox's drain (its UNSUB and a round trip) may take. */
const DRAIN_MS = 2_000;
/** How long `stop()` waits for the consumer info that makes the server forget its pull requests. */
const INSPECT_MS = 5_000;

/**
 * A durable pull consumer driven by hand: it asks the server for exactly as many messages as
 * `prefetch` leaves room for (handed out and unsettled + asked for ≤ prefetch), so the bound of
 * the SPI holds no matter how the server batches. Pull requests expire and are renewed; idle
 * heartbeats, reconnects and missing heartbeats reset them on a fresh inbox. Deliveries still
 * in a handler are reported in progress (`+WPI`) so that `ack_wait` never redelivers them.
 *
 * **NAKs wait until the server has forgotten a dropped inbox.** nats-server before 2.11
 * (nats-io/nats-server#5305) mishandles a redelivery it can hand to no one: when a NAKed (or
 * `ack_wait`-expired) message comes off the redelivery queue while every waiting pull request
 * belongs to an inbox that nobody subscribes to any more, the server discards those requests and
 * "puts the message back" by stepping its stream cursor back one, as it would for a new message.
 * The redelivery is then lost until `ack_wait`, and the newest message is delivered a second time
 * with a delivery count of 1. Dropping an inbox (`stop()`, `close()`, a reset) leaves exactly such
 * requests behind until the server happens to look at them, so every NAK (core's, and the
 * adapter's own give-backs) is held from the moment an inbox is dropped until a consumer info
 * request sent after the drop was answered: answering it, the server drops the pull requests
 * without interest. Acks and `+WPI` are never held.
 */
export class PullConsumer implements NatsConsumer {
  readonly #host: ConsumerHost;
  readonly #s: PullSettings;
  readonly #o: ConsumeOptions;
  readonly #next: string;
  readonly #threshold: number;
  readonly #heartbeatMs: number;
  readonly #unsettled = new Set<JsDelivery>();
  #ackWaitMs: number;
  #sub: Subscription | undefined;
  #inbox = "";
  #requested = 0;
  #state: "running" | "stopped" | "closed" = "running";
  #lastSeen = Date.now();
  #resetting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #progressTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  /** Pending settlements: ack subject, payload, ack subject, payload… */
  #outbox: (string | Uint8Array)[] = [];
  #flushScheduled = false;
  /** Inboxes dropped so far, and how many of them the server is known to have forgotten. */
  #dropped = 0;
  #forgotten = 0;
  /** Drains of dropped inboxes still under way. */
  readonly #drains = new Set<Promise<void>>();
  /** NAKs held back while the server may still hold pull requests of a dropped inbox. */
  #held: (string | Uint8Array)[] = [];
  /**
   * Acks written since the last PING, and the acks the PING in flight covers: the server has read
   * them once its PONG is in. Those still unconfirmed when the connection drops may be lost with
   * it (the client also discards what it had not written, on every dial), so they are written
   * again after the reconnect; a second ack of a message is ignored by the server.
   */
  #unconfirmed: string[] = [];
  #confirming: string[] | undefined;
  #pings = 0;

  constructor(host: ConsumerHost, settings: PullSettings, options: ConsumeOptions) {
    this.#host = host;
    this.#s = settings;
    this.#o = options;
    this.#ackWaitMs = settings.ackWaitMs;
    this.#next = `${settings.apiPrefix}.CONSUMER.MSG.NEXT.${settings.stream}.${settings.consumer}`;
    this.#threshold = Math.max(1, Math.min(256, Math.floor(options.prefetch / 4)));
    this.#heartbeatMs = Math.min(HEARTBEAT_MS, Math.floor(settings.pullExpiresMs / 2));
  }

  /** Subscribe and ask for the first batch. */
  start(): void {
    this.#subscribe();
    this.#topUp();
    this.#startProgress();
    this.#watchdog = setInterval(() => this.#watch(), this.#heartbeatMs);
    this.#watchdog.unref();
  }

  #startProgress(): void {
    if (this.#progressTimer) clearInterval(this.#progressTimer);
    this.#progressTimer = setInterval(() => this.#progress(), Math.max(100, Math.floor(this.#ackWaitMs / 6)));
    this.#progressTimer.unref();
  }

  /** The durable's `ack_wait` on the server, which paces the `+WPI` heartbeats. */
  #setAckWait(ms: number): void {
    if (!(ms > 0) || ms === this.#ackWaitMs) return;
    this.#ackWaitMs = ms;
    if (this.#progressTimer) this.#startProgress();
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

  /**
   * Stop using the current inbox: its UNSUB goes out now, which ends its pull requests as far as
   * delivery goes; messages the server sent before it still reach the callback and are given back.
   */
  #dropInbox(): void {
    const sub = this.#sub;
    this.#sub = undefined;
    this.#requested = 0;
    if (!sub) return;
    this.#dropped++;
    if (this.#host.nc.isClosed()) return;
    let drain: Promise<void>;
    try {
      drain = withTimeout(sub.drain(), DRAIN_MS);
    } catch {
      return;
    }
    this.#drains.add(drain);
    void drain.then(() => this.#drains.delete(drain));
  }

  /** The server answered a consumer info sent after `upTo` inboxes were dropped. */
  #forgot(upTo: number): void {
    if (upTo > this.#forgotten) this.#forgotten = upTo;
    if (this.#forgotten >= this.#dropped) this.#releaseHeld();
  }

  #releaseHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (let i = 0; i < held.length; i += 2) this.#queue(held[i] as string, held[i + 1] as Uint8Array);
  }

  /** A NAK: sent with the next flush, or held while a dropped inbox may still have pull requests. */
  #giveBack(reply: string, payload: Uint8Array): void {
    if (this.#forgotten < this.#dropped) this.#held.push(reply, payload);
    else this.#queue(reply, payload);
  }

  #queue(reply: string, payload: Uint8Array): void {
    this.#outbox.push(reply, payload);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (!this.#flushScheduled && this.#outbox.length > 0) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Ask the server to confirm the acks written so far (one PING in flight at a time). */
  #confirm(): void {
    if (this.#confirming || this.#unconfirmed.length === 0) return;
    const covered = this.#unconfirmed;
    this.#unconfirmed = [];
    this.#confirming = covered;
    const ping = this.#pings;
    this.#host.nc.flush().then(
      () => {
        if (ping !== this.#pings) return;
        this.#confirming = undefined;
        this.#confirm();
      },
      () => {
        if (ping === this.#pings) this.#rewriteUnconfirmed();
      },
    );
  }

  /** The connection dropped: queue every unconfirmed ack again (written once connected). */
  #rewriteUnconfirmed(): void {
    this.#pings++;
    const again = this.#confirming ? [...this.#confirming, ...this.#unconfirmed] : this.#unconfirmed;
    this.#confirming = undefined;
    this.#unconfirmed = [];
    if (this.#state === "closed") return;
    for (const reply of again) this.#outbox.push(reply, ACK);
  }

  /** See {@link JsDelivery.stale}: `ack_wait` ran out since the server last heard of it. */
  expired(delivery: JsDelivery): boolean {
    // With a margin: the server's clock started when it sent the message, a little earlier.
    return Date.now() - delivery.touched >= this.#ackWaitMs * 0.9;
  }

  /** The server delivers it again: free its prefetch slot (core does not start a stale delivery). */
  lose(delivery: JsDelivery): void {
    if (delivery.gone) return;
    delivery.gone = true;
    if (this.#unsettled.delete(delivery)) this.#topUp();
  }

  /** Deliveries whose `ack_wait` ran out while no `+WPI` could be sent are the server's again. */
  #loseExpired(): void {
    for (const d of this.#unsettled) if (this.expired(d)) this.lose(d);
  }

  /**
   * After a reset, compare what we hold with what the server says (consumer info): a message it
   * does not count as delivered (beyond `delivered`: its state rolled back, as after a crash, or
   * the consumer is new) will be delivered again, and one at or below the ack floor is settled.
   * A durable just created again is left alone: where it starts depends on its deliver policy.
   */
  #loseUnknown(facts: DurableFacts): void {
    if (facts.created) return;
    for (const d of this.#unsettled) {
      if (d.seq > 0 && (d.seq > facts.delivered || d.seq <= facts.ackFloor)) this.lose(d);
    }
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
      // A message for a pull request we gave up on: give it back (never handed to core).
      this.#giveBack(reply, NAK);
      return;
    }
    this.#lastSeen = Date.now();
    if (this.#requested > 0) this.#requested--;
    const info = parseAckSubject(reply);
    const delivery = new JsDelivery(
      this,
      toInbound(this.#host, msg, info?.deliveryCount ?? 1, info),
      reply,
      info?.streamSequence ?? 0,
    );
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
    if (delivery.gone) {
      // The server delivers it again: an ack may still spare that copy its handler (the server
      // applies it to whichever delivery of the message it holds), a NAK would change nothing.
      if (payload === ACK) this.#queue(delivery.reply, payload);
      return Promise.resolve();
    }
    this.#unsettled.delete(delivery);
    if (payload === ACK) this.#queue(delivery.reply, payload);
    else this.#giveBack(delivery.reply, payload);
    this.#topUp();
    return Promise.resolve();
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    // Disconnected: the client would drop it at its next dial. Kept for the reconnect.
    if (!this.#host.connected && !this.#host.nc.isClosed()) return;
    const out = this.#outbox;
    this.#outbox = [];
    let acks = false;
    try {
      for (let i = 0; i < out.length; i += 2) {
        const payload = out[i + 1] as Uint8Array;
        this.#host.nc.publish(out[i] as string, payload);
        if (payload === ACK) {
          this.#unconfirmed.push(out[i] as string);
          acks = true;
        }
      }
    } catch {
      // Closed meanwhile: the server redelivers what was not settled.
      return;
    }
    if (acks) this.#confirm();
  };

  /** Report deliveries still being handled as in progress, so ack_wait does not expire. */
  #progress(): void {
    if (!this.#host.connected) {
      this.#loseExpired();
      return;
    }
    const now = Date.now();
    const every = this.#ackWaitMs / 3;
    for (const d of this.#unsettled) {
      if (now - d.touched < every) continue;
      if (this.expired(d)) {
        // Too late (the event loop was held up): the server has given it to someone else.
        this.lose(d);
        continue;
      }
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
    if (Date.now() - this.#lastSeen > this.#heartbeatMs * MISSED_HEARTBEATS) this.#reset(0);
  }

  /** Drop the current inbox (its pull requests die with it), check the consumer, pull again. */
  #reset(delayMs: number): void {
    if (this.#state !== "running" || this.#resetting) return;
    this.#dropInbox();
    this.#resetting = (async () => {
      let wait = delayMs;
      while (this.#state === "running") {
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
        if (this.#state !== "running") return;
        if (!this.#host.connected) {
          wait = 250;
          continue;
        }
        const upTo = this.#dropped;
        const down = this.#host.nextDisconnect;
        try {
          // Ends with a consumer info: the server forgets the dropped inbox's pull requests.
          const facts = await Promise.race([
            this.#s.ensure(),
            down.then(() => undefined),
            unanswered(ENSURE_ATTEMPT_MS),
          ]);
          if (facts === undefined || facts === UNANSWERED) {
            // The connection dropped under the request: its answer will never come. Or no answer
            // yet: on a cluster, a request that reached JetStream during a leader election is
            // never answered (it took the whole 10 s request timeout). Again, once up.
            wait = 0;
            continue;
          }
          this.#forgot(upTo);
          this.#setAckWait(facts.ackWaitMs);
          this.#loseUnknown(facts);
          if (this.#state === "running") this.#subscribe();
          return;
        } catch (error) {
          if (error instanceof ConfigError) {
            this.fail(error);
            return;
          }
          wait = resetRetryDelay(wait);
        }
      }
    })().finally(() => {
      this.#resetting = undefined;
      this.#topUp();
    });
  }

  onDisconnect(): void {
    // Heartbeats stop while disconnected; the watchdog checks `connected`. Settlements wait in
    // the outbox; acks the server may not have read go back into it.
    this.#rewriteUnconfirmed();
  }

  onReconnect(): void {
    this.#loseExpired();
    // Pull requests do not survive a server restart; start over on a fresh inbox.
    this.#reset(0);
    // Settlements made while disconnected go out now: acks at once, NAKs once the server has
    // forgotten the pull requests of the inbox just dropped (see the class comment).
    const out = this.#outbox;
    this.#outbox = [];
    for (let i = 0; i < out.length; i += 2) {
      const payload = out[i + 1] as Uint8Array;
      if (payload === ACK) this.#outbox.push(out[i] as string, payload);
      else if (payload !== WPI) this.#giveBack(out[i] as string, payload);
    }
    this.#scheduleFlush();
  }

  fail(error: Error): void {
    if (this.#state === "closed") return;
    const wasRunning = this.#state === "running";
    this.#state = "stopped";
    this.#clearTimers();
    try {
      this.#sub?.unsubscribe();
    } catch {
      // closed
    }
    this.#sub = undefined;
    // The connection is gone for good: nothing can be settled any more.
    for (const d of this.#unsettled) this.lose(d);
    if (wasRunning) this.#o.onError(error);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state === "running") this.#state = "stopped";
    this.#dropInbox();
    // A reset under way ends at its next step (it subscribes nothing once stopped).
    if (this.#resetting) await withTimeout(this.#resetting, INSPECT_MS);
    // Once drained, every message the server sent to the inbox has reached the callback.
    await Promise.all(this.#drains);
    await this.#forgetRequests();
  }

  /** Have the server drop the pull requests of every inbox dropped so far; then send what was held. */
  async #forgetRequests(): Promise<void> {
    if (this.#forgotten >= this.#dropped) return;
    if (this.#host.nc.isClosed() || !this.#host.connected) return;
    const upTo = this.#dropped;
    try {
      await deadline(this.#s.inspect(), INSPECT_MS);
      this.#forgot(upTo);
    } catch {
      // No answer: the NAKs stay held; close() sends them anyway.
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.stop();
    this.#state = "closed";
    this.#clearTimers();
    // Anything core did not settle goes back at once rather than after ack_wait (and whatever
    // is still held goes too: if the server could not be asked above, this is the best we can do).
    this.#releaseHeld();
    for (const d of this.#unsettled) {
      d.settled = true;
      this.#outbox.push(d.reply, NAK);
    }
    this.#unsettled.clear();
    this.#flush();
    const nc = this.#host.nc;
    if (!nc.isClosed() && this.#host.connected) await withTimeout(nc.flush(), DRAIN_MS);
    this.#host.forget(this);
  }

  #clearTimers(): void {
    if (this.#progressTimer) clearInterval(this.#progressTimer);
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#progressTimer = undefined;
    this.#watchdog = undefined;
  }
}

/** Wait for `promise` (its outcome ignored) at most `ms`. */
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

/** `promise`, or a rejection after `ms`. */
async function deadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
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
/** Messages an inbox acknowledges on arrival while they wait for a prefetch slot. */
const INBOX_BUFFER = 1_000;

/**
 * An ephemeral queue (core's request-reply inbox) on core NATS: a plain subscription on the
 * queue's subject that answers each JetStream publish with a publish acknowledgement of its
 * own, so senders use the same code path as for any queue. Nothing is stored on the server and
 * nothing is left behind; a sender whose inbox is gone gets "no responders" at once. A message
 * is acknowledged to its sender on arrival while fewer than {@link INBOX_BUFFER} wait here (the
 * inbox holds it, as a queue would: a sender is not held up by a slow handler); beyond that, only
 * as it is handed to core, which gives back-pressure. What still waits when the consumer stops
 * goes with the inbox; senders not yet acknowledged are told at once that nobody took it.
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
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
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
        const pending: Pending = { msg, attempt: 1, unanswered: true };
        if (this.#queue.length < INBOX_BUFFER) this.#acknowledge(pending);
        this.#queue.push(pending);
        this.#pump();
      },
    });
  }

  #pump(): void {
    while (this.#state === "running" && this.#unsettled < this.#o.prefetch && this.#queue.length > 0) {
      const pending = this.#queue.shift()!;
      this.#acknowledge(pending);
      this.#unsettled++;
      this.#o.onDelivery(
        new InboxDelivery(this, pending, toInbound(this.#host, pending.msg, pending.attempt, undefined)),
      );
    }
  }

  /** Tell the sender the inbox has its message (a PubAck of our own). */
  #acknowledge(pending: Pending): void {
    if (!pending.unanswered) return;
    pending.unanswered = false;
    this.#answer(pending.msg, JSON.stringify({ stream: INBOX_STREAM, seq: ++this.#seq }));
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

  // jscpd:ignore-start (the stop/close memo every consumer class writes)
  fail(error: Error): void {
    if (this.#state !== "running") return;
    this.#state = "stopped";
    this.#sub?.unsubscribe();
    this.#o.onError(error);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "stopped";
    try {
      this.#sub?.unsubscribe();
    } catch {
      // closed
    }
    // Make the server drop the interest before stop() resolves: a sender publishing right after
    // must get "no responders" at once, not a message delivered to a subscription that is gone.
    if (!this.#host.nc.isClosed()) await withTimeout(this.#host.nc.flush(), DRAIN_MS);
    // Senders still waiting learn at once that nobody took their message.
    for (const p of this.#queue) {
      if (p.unanswered) {
        this.#answer(p.msg, JSON.stringify({ error: { code: 503, description: "the inbox is closed" } }));
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.stop();
    this.#state = "closed";
    // jscpd:ignore-end
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#host.forget(this);
  }
}
