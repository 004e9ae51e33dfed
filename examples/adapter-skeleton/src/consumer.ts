/**
 * One consumer: a receive loop bounded by `prefetch`, a lease heartbeat for deliveries whose
 * handlers still run, deliveries that settle once, and `stop()` / `close()` as the SPI words them.
 * @module
 */
import type { ConsumeOptions, ConsumerHandle, Delivery, Logger } from "@omnibus/core";
import type { Received, Store } from "./store.js";

export interface ConsumerConfig {
  readonly store: Store;
  readonly key: string; // of the queue or topic group read
  readonly ephemeral: boolean; // delete the queue on close (request-reply inboxes)
  readonly leaseMs: number;
  readonly logger: Logger;
  readonly onClosed: () => void; // the adapter forgets this consumer
}

/** Longest nack delay honoured. Core does not bound nack delays (`RetryLaterError(ms)` is any number). */
const MAX_NACK_DELAY_MS = 12 * 60 * 60 * 1000;
const BATCH = 10; // most messages one receive returns (SQS: 10)
const POLL_MS = 10; // how often a consumer receives

export class SkeletonConsumer implements ConsumerHandle {
  readonly #c: ConsumerConfig;
  readonly #options: ConsumeOptions;
  /** Handed to core and not settled: what `prefetch` bounds, what the heartbeat extends. */
  readonly #held = new Map<Delivery, Received>();
  readonly #poll: NodeJS.Timeout;
  readonly #heartbeat: NodeJS.Timeout;
  #stopped = false;
  #closed = false;

  constructor(config: ConsumerConfig, options: ConsumeOptions) {
    this.#c = config;
    this.#options = options;
    // TODO(broker): a push subscription or a long poll instead of a timer.
    this.#poll = setInterval(() => this.#fill(), POLL_MS).unref();
    // Extend the lease of every held delivery well before it runs out: a handler may take longer
    // than one lease, and the broker must not hand its message to another consumer meanwhile.
    this.#heartbeat = setInterval(() => this.#extend(), Math.max(50, config.leaseMs / 4)).unref();
    this.#fill();
  }

  /**
   * One receive per tick: at most a batch, never more than the free prefetch slots, each delivery
   * handed to core in broker order. (A consumer taking everything at once would starve the other
   * members of its group: `client/fanout` requires both to get some.)
   */
  #fill(): void {
    const free = this.#options.prefetch - this.#held.size;
    if (this.#stopped || free <= 0) return;
    // TODO(broker): receive(max), e.g. ReceiveMessage / XREADGROUP COUNT / a pull fetch.
    for (const received of this.#c.store.receive(this.#c.key, Math.min(free, BATCH), this.#c.leaseMs)) {
      const delivery = this.#delivery(received);
      this.#held.set(delivery, received);
      this.#options.onDelivery(delivery);
    }
  }

  #delivery(received: Received): Delivery {
    const m = received.stored.message;
    const { store, key } = this.#c;
    const held = this.#held;
    let settled = false;
    // Settle once: the first ack or nack of a held delivery acts; any later call is a no-op.
    const settle = (op: () => void): void => {
      if (settled || !held.delete(delivery)) return;
      settled = true;
      op(); // the freed prefetch slot is filled on the next tick
    };
    const delivery: Delivery = {
      message: {
        id: m.id,
        // A copy per delivery: a handler writing into its body must not change a redelivery.
        body: new Uint8Array(m.body),
        headers: { ...m.headers },
        key: m.key,
        correlationId: m.correlationId,
        replyTo: m.replyTo,
        timestamp: m.timestamp,
        // The broker's counter, not ours: it also counts deliveries to consumers that died.
        attempt: received.stored.receives,
        native: received,
      },
      // Neither held nor settled: its lease was lost, or close() gave it back.
      get stale() {
        return !settled && !held.has(delivery);
      },
      // TODO(broker): ack = delete / XACK / msg.ack(), with the delivery's own receipt.
      ack: async () => settle(() => store.delete(key, received)),
      nack: async (options) => {
        const delayMs = Math.min(Math.max(0, options?.delayMs || 0), MAX_NACK_DELAY_MS);
        // TODO(broker): a visibility change or a delayed requeue the BROKER keeps (no process
        // timer: a message nacked with a delay must survive this process dying meanwhile).
        settle(() => store.changeVisibility(received, delayMs, false));
      },
    };
    return delivery;
  }

  #extend(): void {
    for (const [delivery, received] of this.#held) {
      // TODO(broker): one batched call (ChangeMessageVisibilityBatch, XCLAIM, msg.working()).
      if (this.#c.store.changeVisibility(received, this.#c.leaseMs, true)) continue;
      // The lease is gone (the broker handed the message to someone else): the delivery is stale.
      // Core will not settle a stale delivery it has not started, so its slot is freed here.
      this.#held.delete(delivery);
      this.#c.logger.warn(`skeleton: lease lost on ${this.#c.key}; the message will be redelivered`);
    }
  }

  /** No new deliveries; held ones stay valid (and their leases extended) until close(). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    // TODO(broker): cancel the subscription, and give back what it fetched but never handed out.
  }

  /** Give back what is still held (at once, attempt + 1 on its next delivery); later settles are no-ops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stop();
    clearInterval(this.#heartbeat);
    for (const received of this.#held.values()) this.#c.store.changeVisibility(received, 0, false);
    this.#held.clear();
    if (this.#c.ephemeral) this.#c.store.deleteQueue(this.#c.key); // TODO(broker): delete the queue
    this.#c.onClosed();
  }
}
