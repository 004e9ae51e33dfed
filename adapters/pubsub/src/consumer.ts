/**
 * One consumer of one subscription: unary pulls bounded by `prefetch` (never more messages asked
 * for than free slots, so nothing is fetched that is not handed to core at once), a lease
 * heartbeat (`modifyAckDeadline` of every held delivery every third of the lease), acks gathered
 * for 20 ms into one `acknowledge`, nacks as `modifyAckDeadline` (0 s, or the delay rounded up to
 * whole seconds: the broker keeps the message meanwhile; delays beyond Pub/Sub's 600 s maximum are
 * held by this consumer's lease and given back when due).
 *
 * Why unary pull rather than the library's streaming `Subscription`: the SPI asks for an exact
 * prefetch bound, a stop() that fetches nothing more while held deliveries stay settleable, and
 * a close() that gives back at once what is held; the streaming subscriber's inventory, its own
 * lease extension and its close semantics hide all three.
 * @module
 */
import type { v1 } from "@google-cloud/pubsub";
import type { ConsumeOptions, ConsumerHandle, Delivery, InboundMessage, Logger } from "@omnibus/core";
import { backoff, delay } from "@omnibus/core/adapter";
import { type Decoded, decode } from "./wire.js";

/** Pub/Sub's longest ack deadline. */
export const MAX_DEADLINE_S = 600;
/** Ack ids per acknowledge / modifyAckDeadline request. */
const IDS_PER_CALL = 500;
/** How long acks are gathered before they go out (see PullConsumer.#ack). */
const ACK_WINDOW_MS = 20;
/**
 * The deadline of one pull. The emulator answers an empty pull one second before the call's
 * deadline (measured: 3 s → 2 s, 1 s → at once), and a pull whose deadline passed takes no
 * message with it; so a pull ends on its own within a second, and close() waits for it rather
 * than cancel it (a pull still open when close() gives back the held messages would take them
 * again, and count one more delivery attempt).
 */
const PULL_TIMEOUT_MS = 2_000;

/**
 * Acks and deadline changes fail fast instead of gax's default of retrying for up to a minute:
 * core waits on an ack before it starts the next handler, so an ack retried through a broker
 * restart held every consumer back (measured: first delivery 33-50 s after the restart). An ack
 * that fails is logged; its message comes back (at-least-once).
 */
const SETTLE_CALL = { timeout: 5_000, maxRetries: 0 } as const;

/** gRPC status codes the consumer tells apart. */
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const CANCELLED = 1;

type ReceivedMessage = {
  ackId?: string | null;
  deliveryAttempt?: number | null;
  message?: {
    data?: Uint8Array | string | null;
    attributes?: Record<string, string> | null;
    messageId?: string | null;
    orderingKey?: string | null;
  } | null;
};

export interface ConsumerConfig {
  readonly client: v1.SubscriberClient;
  /** Full subscription path. */
  readonly subscription: string;
  readonly leaseMs: number;
  readonly logger: Logger;
  /** Re-creates the subscription when a pull says it is gone (deleted under a running consumer). */
  readonly recreate: () => Promise<void>;
  /** Called once the consumer closed (the adapter forgets it; ephemeral queues are deleted). */
  readonly onClosed: () => Promise<void>;
}

interface Held {
  readonly ackId: string;
  /** Epoch ms until which the broker keeps the message for us (last successful extension). */
  leaseUntil: number;
}

const DONE: Promise<void> = Promise.resolve();

/**
 * A delivery as core sees it, and its lease as the consumer tracks it: one object per message
 * (not a settlement's closures), settled at most once, and not at all once stale (its lease lost,
 * or given back at close: the broker delivers it again).
 */
class PubSubDelivery implements Delivery, Held {
  #settled = false;

  constructor(
    readonly owner: PullConsumer,
    readonly message: InboundMessage,
    readonly ackId: string,
    public leaseUntil: number,
  ) {}

  get stale(): boolean {
    return !this.owner.holds(this);
  }

  ack(): Promise<void> {
    if (this.#settled) return DONE;
    this.#settled = true;
    return this.owner.holds(this) ? this.owner.settleAck(this) : DONE;
  }

  nack(options?: { delayMs?: number }): Promise<void> {
    if (this.#settled) return DONE;
    this.#settled = true;
    return this.owner.holds(this) ? this.owner.settleNack(this, Math.max(0, options?.delayMs ?? 0)) : DONE;
  }
}

interface Parked {
  readonly ackId: string;
  readonly dueAt: number;
  leaseUntil: number;
}

const seconds = (ms: number) => Math.min(MAX_DEADLINE_S, Math.max(0, Math.ceil(ms / 1000)));

/** A pull consumer. The adapter builds it; core drives it through {@link ConsumerHandle}. */
export class PullConsumer implements ConsumerHandle {
  readonly #c: ConsumerConfig;
  readonly #o: ConsumeOptions;
  readonly #held = new Map<string, PubSubDelivery>();
  /** Nacked with a delay beyond 600 s: kept leased until due. */
  readonly #parked = new Map<string, Parked>();
  readonly #heartbeat: NodeJS.Timeout;
  #acks: string[] = [];
  #ackFlush: Promise<void> | undefined;
  /** Ends the current ack window early (a full request's worth, or close). */
  #ackNow: (() => void) | undefined;
  #slot: (() => void) | undefined;
  #stopped = false;
  #closed: Promise<void> | undefined;
  readonly #loop: Promise<void>;

  constructor(config: ConsumerConfig, options: ConsumeOptions) {
    this.#c = config;
    this.#o = options;
    this.#heartbeat = setInterval(() => void this.#extend(), Math.max(200, Math.floor(config.leaseMs / 3)));
    this.#heartbeat.unref();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    let retry = backoff({ initialMs: 100, maxMs: 1_000 });
    while (!this.#stopped) {
      const free = this.#o.prefetch - this.#held.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.#slot = resolve;
        });
        continue;
      }
      let received: ReceivedMessage[];
      const started = Date.now();
      try {
        received = await this.#pull(Math.min(free, 1000));
        retry = backoff({ initialMs: 100, maxMs: 1_000 });
      } catch (error) {
        if (this.#stopped) break;
        const code = (error as { code?: number }).code;
        // A long poll that ran out is no failure; anything quicker is (gax reports an unreachable
        // broker as DEADLINE_EXCEEDED "Exceeded maximum number of retries" at once).
        if ((code === DEADLINE_EXCEEDED || code === CANCELLED) && Date.now() - started >= PULL_TIMEOUT_MS / 2)
          continue;
        if (code === NOT_FOUND) {
          this.#c.logger.warn(`pubsub: subscription ${this.#c.subscription} is gone; re-creating it`);
          await this.#c.recreate().catch(() => {});
        } else if (code !== DEADLINE_EXCEEDED) {
          this.#c.logger.warn(`pubsub: pull from ${this.#c.subscription} failed; retrying`, {
            error: (error as Error).message,
          });
        }
        await delay(retry.next().value);
        continue;
      }
      if (this.#stopped) {
        // Fetched after stop(): give it back at once.
        await this.#modifyNow(
          received.flatMap((r) => (r.ackId ? [r.ackId] : [])),
          0,
        );
        break;
      }
      const leaseUntil = Date.now() + this.#c.leaseMs;
      for (const r of received) {
        if (!r.ackId || !r.message) continue;
        const ackId = r.ackId;
        const m = decode(
          r.message.data,
          r.message.attributes,
          r.message.orderingKey,
          r.message.messageId ?? "",
        ) as Decoded & { attempt: number; native: unknown };
        // The broker's count (the subscription's dead-letter policy): it also counts deliveries
        // to consumers that died. Without a policy Pub/Sub sends 0.
        m.attempt = Math.max(1, r.deliveryAttempt ?? 0);
        m.native = r;
        const delivery = new PubSubDelivery(this, m, ackId, leaseUntil);
        this.#held.set(ackId, delivery);
        this.#o.onDelivery(delivery);
      }
    }
  }

  /** Whether `d` is still held (its lease not lost, the consumer not closed). */
  holds(d: PubSubDelivery): boolean {
    return this.#held.get(d.ackId) === d;
  }

  /** Ack of a held delivery: its slot is free at once, the ack goes out with its window. */
  settleAck(d: PubSubDelivery): Promise<void> {
    this.#release(d.ackId);
    return this.#ack(d.ackId);
  }

  /** Nack of a held delivery: back at once, or after the delay (see the module comment). */
  async settleNack(d: PubSubDelivery, delayMs: number): Promise<void> {
    const ackId = d.ackId;
    this.#release(ackId);
    if (delayMs > MAX_DEADLINE_S * 1000) {
      const now = Date.now();
      this.#parked.set(ackId, { ackId, dueAt: now + delayMs, leaseUntil: now + MAX_DEADLINE_S * 1000 });
      await this.#modifyNow([ackId], MAX_DEADLINE_S);
    } else await this.#modifyNow([ackId], seconds(delayMs));
  }

  /** One pull of at most `max` messages. */
  async #pull(max: number): Promise<ReceivedMessage[]> {
    const [response] = await this.#c.client.pull(
      { subscription: this.#c.subscription, maxMessages: max, returnImmediately: false },
      { timeout: PULL_TIMEOUT_MS, maxRetries: 0 },
    );
    return (response.receivedMessages ?? []) as ReceivedMessage[];
  }

  /** Frees the prefetch slot of a delivery being settled. */
  #release(ackId: string): void {
    this.#held.delete(ackId);
    const wake = this.#slot;
    this.#slot = undefined;
    wake?.();
  }

  /**
   * Acks gathered for {@link ACK_WINDOW_MS} (or until a request's worth) into one acknowledge
   * call, as Google's own subscriber batches them (up to 100 ms): every unary call costs the
   * client far more CPU than the ids in it.
   */
  #ack(ackId: string): Promise<void> {
    this.#acks.push(ackId);
    if (this.#acks.length >= IDS_PER_CALL) this.#ackNow?.();
    this.#ackFlush ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ACK_WINDOW_MS);
      this.#ackNow = () => {
        clearTimeout(timer);
        resolve();
      };
    }).then(async () => {
      this.#ackNow = undefined;
      const ids = this.#acks;
      this.#acks = [];
      this.#ackFlush = undefined;
      for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
        await this.#c.client
          .acknowledge(
            { subscription: this.#c.subscription, ackIds: ids.slice(i, i + IDS_PER_CALL) },
            SETTLE_CALL,
          )
          .catch((error: Error) =>
            this.#c.logger.warn("pubsub: an acknowledge failed; the messages will be redelivered", {
              error: error.message,
            }),
          );
      }
    });
    return this.#ackFlush;
  }

  async #modifyNow(ackIds: string[], deadlineSeconds: number): Promise<boolean> {
    let ok = true;
    for (let i = 0; i < ackIds.length; i += IDS_PER_CALL) {
      await this.#c.client
        .modifyAckDeadline(
          {
            subscription: this.#c.subscription,
            ackIds: ackIds.slice(i, i + IDS_PER_CALL),
            ackDeadlineSeconds: deadlineSeconds,
          },
          SETTLE_CALL,
        )
        .catch((error: Error) => {
          ok = false;
          this.#c.logger.debug("pubsub: modifyAckDeadline failed", { error: error.message });
        });
    }
    return ok;
  }

  /** Extends the lease of every held delivery; one whose lease ran out is stale (slot freed). */
  async #extend(): Promise<void> {
    const now = Date.now();
    for (const [ackId, held] of this.#held) {
      if (held.leaseUntil < now) {
        this.#release(ackId);
        this.#c.logger.warn(`pubsub: lease lost on ${this.#c.subscription}; the message will be redelivered`);
      }
    }
    for (const p of [...this.#parked.values()]) {
      const remaining = p.dueAt - now;
      if (remaining <= MAX_DEADLINE_S * 1000) {
        // The rest of the delay fits one deadline: the broker keeps it from here.
        this.#parked.delete(p.ackId);
        void this.#modifyNow([p.ackId], seconds(remaining));
      } else if (p.leaseUntil - now < (MAX_DEADLINE_S * 1000) / 2) {
        if (await this.#modifyNow([p.ackId], MAX_DEADLINE_S)) p.leaseUntil = now + MAX_DEADLINE_S * 1000;
      }
    }
    const entries = [...this.#held.values()];
    if (entries.length === 0) return;
    const started = Date.now();
    if (
      await this.#modifyNow(
        entries.map((e) => e.ackId),
        seconds(this.#c.leaseMs),
      )
    )
      for (const e of entries) if (this.#held.get(e.ackId) === e) e.leaseUntil = started + this.#c.leaseMs;
  }

  /** No new deliveries; held ones stay valid (and their leases extended) until close(). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const wake = this.#slot;
    this.#slot = undefined;
    wake?.();
  }

  /** Gives back what is still held (at once); later settles are no-ops. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.stop();
      // The last pull ends within a second and gives back what it got (see PULL_TIMEOUT_MS).
      await this.#loop.catch(() => {});
      clearInterval(this.#heartbeat);
      const ids = [...this.#held.keys()];
      this.#held.clear();
      this.#ackNow?.();
      await this.#ackFlush;
      await this.#modifyNow(ids, 0);
      await this.#c.onClosed();
    })();
    return this.#closed;
  }
}
