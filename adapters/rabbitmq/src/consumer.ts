import {
  ConfigError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Delivery,
  type InboundMessage,
  type Source,
} from "@omnibus/core";
import type { Channel, ConsumeMessage } from "amqplib";
import { amqpCode, BrokerTimeout, type Link, within } from "./link.js";
import { inboundMessage } from "./wire.js";

/** What a consumer needs from its adapter. */
export interface ConsumerHost {
  /** The live link, or undefined while reconnecting. */
  currentLink(): Link | undefined;
  /** Declare what the source needs; returns the queue to consume. */
  declareSource(link: Link, source: Source): Promise<string>;
  /**
   * Publish a copy of `body` back to `queue` (after `delayMs`) with `attempt`. Resolves true on
   * the broker's confirm, false without publishing when `alive()` turned false first.
   */
  republish(
    queue: string,
    body: Buffer,
    msg: ConsumeMessage,
    inbound: InboundMessage,
    attempt: number,
    delayMs: number,
    alive: () => boolean,
  ): Promise<boolean>;
  /** True when this adapter deleted the queue (a consumer must not bring it back). */
  deletedByUs(queue: string): boolean;
  /** The queue is gone: declare it again before the next consume. */
  forgetQueue(queue: string): void;
  /**
   * Delete a consumer's ephemeral queue on the live connection, within `ms`. Without a live
   * connection there is nothing to delete: the queue is exclusive, so it went with the
   * connection that declared it.
   */
  deleteEphemeral(queue: string, ms: number): Promise<void>;
  consumerClosed(consumer: RabbitConsumer): void;
  /** Bound on one broker call (cancel), and on a consumer's whole close(). */
  readonly operationTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

/**
 * The channel a delivery came from, and its acks. Settling after the channel died is a no-op
 * (the broker redelivers those messages). Acks are coalesced per tick: the longest run of
 * settled delivery tags goes out as one `basic.ack(multiple)`, any settled tag above a gap as a
 * plain ack. A tag is only ever covered by `multiple` once every tag below it was settled, so
 * a slow handler never has its message acked by someone else's completion.
 */
export class ChannelState {
  open = true;
  /**
   * Consuming again after a broker restart (`Link.brokerRestarted`): until the first delivery the
   * broker does not flag redelivered, or a pause of {@link RECOVERY_GAP_MS} (the recovered
   * backlog comes back to back), flagged ones are what it recovered, flagged whether they had
   * been delivered or not, and are handed to core at once (see `RabbitConsumer.#onMessage`).
   */
  recovering = false;
  /** When the last recovered delivery came (or the channel started consuming). */
  recoveredAt = 0;
  consumerTag: string | undefined;
  /** Every delivery tag up to here is settled and acked. */
  #ackedUpTo = 0;
  /** Settled tags above {@link ChannelState.#ackedUpTo}: true once their ack was sent. */
  readonly #settled = new Map<number, boolean>();
  #pending: number[] = [];
  #scheduled = false;

  constructor(readonly channel: Channel) {}

  /** Ack `tag` in the next flush. */
  ack(tag: number): void {
    if (!this.open) return;
    this.#pending.push(tag);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** `tag` was settled some other way (nack + requeue): count it as settled, send no ack. */
  settledElsewhere(tag: number): void {
    this.#settled.set(tag, true);
  }

  /** Send what is pending now. */
  flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    if (!this.open) return;
    for (const tag of pending) this.#settled.set(tag, false);
    let upTo = this.#ackedUpTo;
    let last = 0; // highest tag of the run whose ack is not sent yet (still outstanding on the broker)
    for (;;) {
      const sent = this.#settled.get(upTo + 1);
      if (sent === undefined) break;
      if (!sent) last = upTo + 1;
      this.#settled.delete(upTo + 1);
      upTo++;
    }
    try {
      if (last > 0) this.channel.ack({ fields: { deliveryTag: last } } as ConsumeMessage, true);
      this.#ackedUpTo = upTo;
      for (const tag of pending) {
        if (tag > upTo && this.#settled.get(tag) === false) {
          this.channel.ack({ fields: { deliveryTag: tag } } as ConsumeMessage, false);
          this.#settled.set(tag, true);
        }
      }
    } catch {
      // The channel closed meanwhile: the broker redelivers whatever was not acked.
      this.open = false;
    }
  }
}

const DONE: Promise<void> = Promise.resolve();

/** How long a consumer's close() waits for the copies it is republishing (at most half its bound). */
const CLOSE_SETTLE_MS = 5_000;

/** Close a channel without waiting for the broker's close-ok (it may never come). */
function closeQuietly(channel: Channel): void {
  channel.close().catch(() => {});
}

/** A pause between recovered deliveries that ends the recovery (see `ChannelState.recovering`). */
const RECOVERY_GAP_MS = 2_000;

/**
 * The wait before attaching again after the `failures`-th failed attempt on a live link: 100 ms
 * doubling to at most 1 s (a queue that comes back is consumed within a second; it was 5 s).
 */
export function attachRetryDelay(failures: number): number {
  return Math.min(1000, 50 * 2 ** Math.min(Math.max(failures, 1), 5));
}

/**
 * True when the broker counts this message's deliveries itself (`x-delivery-count`: quorum
 * queues); classic queues only set the `redelivered` flag.
 */
function brokerCounts(msg: ConsumeMessage): boolean {
  return (
    typeof (msg.properties.headers as Record<string, unknown> | undefined)?.["x-delivery-count"] === "number"
  );
}

class RabbitDelivery implements Delivery {
  readonly message: InboundMessage;
  /**
   * The bytes as they came off the broker, for a redelivery: the handler owns `message.body`
   * and may write into it. A copy per delivery (pooled for small bodies); see the README.
   */
  readonly original: Buffer;
  #settled = false;

  constructor(
    readonly consumer: RabbitConsumer,
    readonly state: ChannelState,
    readonly raw: ConsumeMessage,
    message?: InboundMessage,
  ) {
    this.message = message ?? inboundMessage(raw);
    this.original = Buffer.from(raw.content);
  }

  /**
   * True once the channel this delivery came on is gone (closed, or its connection lost): it can
   * no longer be settled and the broker delivers the message again, so core does not start it.
   */
  get stale(): boolean {
    return !this.state.open;
  }

  ack(): Promise<void> {
    if (this.#settled) return DONE;
    this.#settled = true;
    this.state.ack(this.raw.fields.deliveryTag);
    return DONE;
  }

  nack(options?: { delayMs?: number }): Promise<void> {
    if (this.#settled) return DONE;
    this.#settled = true;
    // Once the consumer closed or the channel died, the broker redelivers the original itself:
    // a copy now would be a duplicate.
    if (!this.state.open || this.consumer.closed) return DONE;
    return this.consumer.redeliver(this, Math.max(0, options?.delayMs ?? 0));
  }
}

/**
 * One consumer: its own channel with `basic.qos(prefetch)`, so the broker never has more than
 * `prefetch` unsettled deliveries out to it. Deliveries are handed to core synchronously as
 * they arrive (no buffer of our own). After a channel or connection loss it re-declares its
 * source and consumes again on the new channel.
 */
export class RabbitConsumer implements ConsumerHandle {
  #state: ChannelState | undefined;
  #queue: string | undefined;
  #stopped = false;
  #closed = false;
  #resuming = false;
  #failures = 0;
  /** The link this consumer last attached on (see {@link ChannelState.recovering}). */
  #attachedOn: Link | undefined;
  /** Ends the backoff wait of {@link RabbitConsumer.resume} early. */
  #wake: (() => void) | undefined;
  /** Republishes in flight (nacks, renumbering): close() lets them finish. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    readonly host: ConsumerHost,
    readonly source: Source,
    readonly options: ConsumeOptions,
  ) {}

  get ephemeral(): boolean {
    return this.source.kind === "queue" && this.source.ephemeral === true;
  }

  /** The amqplib channel of the running consumer (escape hatch, tests). */
  get channel(): Channel | undefined {
    return this.#state?.channel;
  }

  get active(): boolean {
    return !this.#stopped;
  }

  /** close() was called (or the adapter closed). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Declare and consume on `link`. Rejects if that fails, or with a {@link BrokerTimeout} when
   * the broker leaves one call unanswered for `link.callTimeoutMs` (its channel is then left).
   */
  async attach(link: Link): Promise<void> {
    const ms = link.callTimeoutMs;
    const queue = await this.host.declareSource(link, this.source);
    this.#queue = queue;
    const opening = link.connection.createChannel();
    const channel = await within(opening, ms, () => {
      opening.then(closeQuietly, () => {});
      return new BrokerTimeout("opening a consumer channel", ms);
    });
    const state = new ChannelState(channel);
    // Only the first attach on a link after a restart: a later one (a deleted queue declared
    // again) sees redeliveries the flag is right about.
    state.recovering = link.brokerRestarted && this.#attachedOn !== link;
    state.recoveredAt = Date.now();
    channel.on("error", () => {});
    channel.on("close", () => {
      state.open = false;
      if (this.#state === state) this.#lost();
    });
    try {
      await within(channel.prefetch(this.options.prefetch), ms, () => new BrokerTimeout("basic.qos", ms));
      this.#state = state;
      const ok = await within(
        channel.consume(queue, (msg) => this.#onMessage(state, msg), { noAck: false }),
        ms,
        () => new BrokerTimeout(`basic.consume of ${queue}`, ms),
      );
      state.consumerTag = ok.consumerTag;
      this.#failures = 0;
      this.#attachedOn = link;
    } catch (error) {
      if (amqpCode(error) === 404) this.host.forgetQueue(queue);
      if (this.#state === state) this.#state = undefined;
      state.open = false;
      closeQuietly(channel);
      throw error;
    }
    if (this.#closed) {
      // Given up on (consume() timed out) or closed while starting: release what it got.
      if (this.#state === state) this.#state = undefined;
      state.open = false;
      closeQuietly(channel);
      return;
    }
    if (this.#stopped) await this.#cancel(state);
  }

  /** consume() gave up on this consumer before it started: whatever it starts now is released. */
  discard(): void {
    this.#closed = true;
    this.#stopped = true;
    const state = this.#state;
    this.#state = undefined;
    if (state?.open) {
      state.open = false;
      closeQuietly(state.channel);
    }
  }

  #onMessage(state: ChannelState, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // basic.cancel from the broker: the queue was deleted (or its leader moved).
      state.consumerTag = undefined;
      if (this.#state === state) {
        this.#state = undefined;
        state.open = false;
        state.channel.close().catch(() => {});
        if (this.#queue !== undefined && this.host.deletedByUs(this.#queue)) {
          this.#stopped = true;
        } else {
          if (this.#queue !== undefined) this.host.forgetQueue(this.#queue);
          this.#lost();
        }
      }
      return;
    }
    // close() is waiting for republishes, or the channel was given up on: what still arrives
    // goes back with the channel.
    if (this.#closed || !state.open) return;
    if (msg.fields.redelivered && !brokerCounts(msg)) {
      // After a broker restart a classic queue flags every message it recovered, delivered before
      // or not: renumbering them all (a copy each, at the tail) held back every delivery until
      // the whole backlog was copied (10-14 s for ~7,000 messages after a SIGKILL). They go to
      // core at once with attempt + 1, as a renumbered copy would; the count is not written to
      // the broker, so a handler that crashes the process on one of them costs one uncounted
      // attempt (then it is renumbered as usual).
      if (state.recovering && Date.now() - state.recoveredAt <= RECOVERY_GAP_MS) {
        state.recoveredAt = Date.now();
        this.options.onDelivery(new RabbitDelivery(this, state, msg));
        return;
      }
      state.recovering = false;
      this.#renumber(state, msg);
      return;
    }
    state.recovering = false;
    this.options.onDelivery(new RabbitDelivery(this, state, msg));
  }

  /**
   * A classic queue gave a message back (its consumer died or closed without settling it) and
   * only set `redelivered`, which says nothing of how often. So that `attempt` stays exact, the
   * message is not handed to core: a copy with `x-omnibus-attempt` = attempt + 1 is published to
   * the same queue, the original is acked once the broker confirmed the copy, and core gets the
   * copy when it arrives (to this consumer or another). If the process dies before the confirm,
   * the original comes back and is renumbered again; between the confirm and the ack, both the
   * copy and the original come back, each then with the same exact attempt (a duplicate, as any
   * crash before an ack makes). If no copy can be published, the original goes to core with
   * attempt + 1 (a lower bound) rather than wait.
   */
  #renumber(state: ChannelState, msg: ConsumeMessage): void {
    const inbound = inboundMessage(msg); // attempt = the copy's attempt + 1
    const alive = () => state.open && !this.#closed;
    const queue = this.#queue!;
    this.#track(
      (async () => {
        let sent = false;
        try {
          sent = await this.host.republish(queue, msg.content, msg, inbound, inbound.attempt, 0, alive);
        } catch {
          sent = false;
        }
        if (sent) {
          state.ack(msg.fields.deliveryTag);
          return;
        }
        if (!alive()) return; // the channel is gone: the broker has the original again
        if (this.#stopped) {
          try {
            state.channel.nack(msg, false, true);
            state.settledElsewhere(msg.fields.deliveryTag);
          } catch {
            // channel gone: redelivered anyway
          }
          return;
        }
        this.options.onDelivery(new RabbitDelivery(this, state, msg, inbound));
      })(),
    );
  }

  #track(work: Promise<void>): Promise<void> {
    this.#inFlight.add(work);
    const done = () => {
      this.#inFlight.delete(work);
    };
    work.then(done, done);
    return work;
  }

  /** Wait (at most `ms`) for the republishes in flight; then send the acks they left. */
  async settleInternal(ms: number): Promise<void> {
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, ms);
        }),
      ]);
      clearTimeout(timer);
    }
    if (this.#state?.open) this.#state.flush();
  }

  /** The channel or the connection went away: consume again once possible. */
  #lost(): void {
    this.#state = undefined;
    if (this.#stopped) return;
    void this.resume();
  }

  /**
   * (Re)start consuming on the current link, retrying with a backoff while the link lives. The
   * adapter calls it again when a new link comes up.
   */
  async resume(): Promise<void> {
    if (this.#resuming) {
      // Waiting out a backoff after a failed attach: a new link comes up, try it now.
      this.#wake?.();
      return;
    }
    if (this.#stopped || this.#state?.open) return;
    this.#resuming = true;
    try {
      while (!this.#stopped && !this.#state?.open) {
        const link = this.host.currentLink();
        if (!link) return; // the adapter calls resume() again after reconnecting
        try {
          await this.attach(link);
          return;
        } catch (error) {
          if (error instanceof ConfigError) {
            this.#stopped = true;
            this.options.onError(error);
            return;
          }
          this.#failures++;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, attachRetryDelay(this.#failures));
            this.#wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#wake = undefined;
        }
      }
    } finally {
      this.#resuming = false;
    }
  }

  /** The adapter gave up reconnecting. */
  fail(error: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.options.onError(error);
  }

  /** Settle a nack: republish a copy with attempt + 1 (through a wait queue when delayed), then ack. */
  redeliver(delivery: RabbitDelivery, delayMs: number): Promise<void> {
    const { state, raw, message } = delivery;
    const queue = this.#queue!;
    const alive = () => state.open && !this.#closed;
    return this.#track(
      (async () => {
        let sent: boolean;
        try {
          sent = await this.host.republish(
            queue,
            delivery.original,
            raw,
            message,
            message.attempt + 1,
            delayMs,
            alive,
          );
        } catch {
          // Could not park the copy: give the message back to the broker now rather than lose it.
          if (state.open) {
            try {
              state.channel.nack(raw, false, true);
              state.settledElsewhere(raw.fields.deliveryTag);
            } catch {
              // channel gone: redelivered anyway
            }
          }
          return;
        }
        // Not sent: the channel died first, and the broker redelivers the original.
        // Sent, and the channel is gone by now: the original comes back too (a duplicate, never a loss).
        if (sent) state.ack(raw.fields.deliveryTag);
      })(),
    );
  }

  async #cancel(state: ChannelState): Promise<void> {
    const tag = state.consumerTag;
    if (!state.open || tag === undefined) return;
    state.consumerTag = undefined;
    state.flush();
    const ms = this.host.operationTimeoutMs;
    try {
      await within(state.channel.cancel(tag), ms, () => new BrokerTimeout("basic.cancel", ms));
    } catch {
      // channel closed meanwhile, or the broker does not answer: closing the channel releases
      // the prefetched messages anyway
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const state = this.#state;
    if (state) await this.#cancel(state);
  }

  /**
   * Within `closeTimeoutMs` whatever the broker does: waits (at most half of it) for the copies
   * being republished, closes the channel, deletes an ephemeral queue on the live connection.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped = true;
    const bound = this.host.closeTimeoutMs;
    const deadline = Date.now() + bound;
    const left = () => Math.max(1, deadline - Date.now());
    try {
      // Copies already published wait for their confirm, so that their originals are acked
      // before the channel closes; those not yet published are not (the close gives them back).
      await this.settleInternal(Math.min(CLOSE_SETTLE_MS, Math.floor(bound / 2)));
      const state = this.#state;
      this.#state = undefined;
      if (state?.open) {
        state.flush();
        state.open = false;
        // Closing the channel hands every unsettled delivery back to the broker.
        await within(state.channel.close(), left(), () => new BrokerTimeout("channel.close", bound)).catch(
          () => {},
        );
      }
      if (this.ephemeral && this.#queue !== undefined)
        await this.host.deleteEphemeral(this.#queue, left()).catch(() => {});
    } finally {
      this.host.consumerClosed(this);
    }
  }

  /**
   * The adapter is closing the connection: send the acks made just before, then close the
   * channel (within `ms`), so that those acks reach the broker. amqplib writes each channel's
   * frames through its own buffer, so an ack could otherwise go out after the connection's
   * close and its message come back (seen: a renumbered original redelivered beside its copy).
   * On one channel, frames keep their order: the close follows the acks.
   */
  async detach(ms: number): Promise<void> {
    this.#stopped = true;
    this.#closed = true;
    const state = this.#state;
    this.#state = undefined;
    if (!state?.open) return;
    state.flush();
    state.open = false;
    await within(state.channel.close(), ms, () => new BrokerTimeout("channel.close", ms)).catch(() => {});
  }
}
