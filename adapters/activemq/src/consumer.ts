/**
 * One consumer: an AMQP 1.0 receiver link with manual credit. The credit is the prefetch: the
 * link gets `prefetch` credits when it attaches (again after every reconnect) and one more per
 * settled delivery, so that the broker never has more than `prefetch` unsettled deliveries out to
 * it. ack = `accepted`; nack = `modified` (delivery-failed: the broker counts the attempt and
 * redelivers at once); nack with a delay = a copy sent to the same queue with the broker's
 * delivery delay and the next attempt number, then `accepted`. `stop()` drains the credit and
 * releases what still arrives; `close()` detaches the link, which hands every unsettled delivery
 * back to the broker at once, each `modified` (delivery-failed) first so that the broker counts the
 * attempt (Artemis 2.40 does not count deliveries a detach hands back).
 *
 * rhea 3.0.5 writes the dispositions of one tick as ranges and, for a range's second delivery,
 * skips the check that its outcome equals the first's (`write_dispositions` in its session.js):
 * an `accepted` followed by a `modified` of the next delivery id went out as one `accepted`
 * range, and the modified message was gone (measured here). So every outcome other than
 * `accepted` is written on its own: the pending dispositions are flushed before and after it.
 * @module
 */

import { ClosedError } from "@omnibus/core";
import type { ConsumeOptions, ConsumerHandle, Delivery as OmnibusDelivery } from "@omnibus/core/adapter";
import { settleOnce } from "@omnibus/core/adapter";
import type { Delivery, EventContext, Receiver, ReceiverOptions } from "rhea";
import { fromAmqp } from "./wire.js";

/** What a consumer needs from its adapter. */
export interface ConsumerHost {
  /** Opens a receiver on the live connection (rhea re-attaches it after a reconnect). */
  openReceiver(options: ReceiverOptions): Receiver;
  /** The number of the current connection: deliveries of an earlier one are stale. */
  readonly generation: number;
  /** Sends a copy of `delivery`'s message to `target` (a queue or FQQN) with a delay. */
  redeliverLater(target: string, message: ReturnType<typeof fromAmqp>, delayMs: number): Promise<void>;
  forget(consumer: ArtemisConsumer): void;
  /** Corks the socket until rhea has written what it queued, so that it leaves in one write. */
  cork(): void;
  /** Writes the dispositions rhea has queued now (see the module comment). */
  flush(): void;
  /** Deletes a queue (an ephemeral queue once its consumer closed). */
  deleteQueue(name: string): Promise<void>;
  /** Reports a failure that is not the consumer's (a failed ack…). */
  warn(message: string, error?: unknown): void;
}

const STOP_DRAIN_MS = 2_000;
const CLOSE_WAIT_MS = 5_000;
const REATTACH_MS = 500;

/** A running consumer of a queue or of a topic group (see the module comment). */
export class ArtemisConsumer implements ConsumerHandle {
  #receiver: Receiver | undefined;
  #generation = -1;
  #stopped = false;
  #closed = false;
  /** Attach count, so that deliveries of a closed and re-opened link are stale too. */
  #link = 0;
  #reattach: NodeJS.Timeout | undefined;
  /** Deliveries handed to core and not settled yet, with a way to hand each back. */
  readonly #unsettled = new Map<Delivery, () => void>();
  /** Acks not written yet (see {@link ArtemisConsumer.#schedule}). */
  #acks: { delivery: Delivery; attached: () => boolean }[] = [];
  /** Credit freed by settles and not granted yet. */
  #credit = 0;
  #flushing = false;
  /** Ends a `start()` still waiting for the attach (close while starting). */
  #abort: (() => void) | undefined;

  constructor(
    readonly host: ConsumerHost,
    /** Where redelivered copies go: the queue, or the group's FQQN. */
    readonly target: string,
    readonly receiverOptions: ReceiverOptions,
    readonly options: ConsumeOptions,
    /** An ephemeral queue to delete once closed. */
    readonly ephemeral?: string,
  ) {}

  /**
   * Acks and credit settled in one run of the microtask queue go out together: one disposition
   * range and one flow frame instead of a frame pair per message (core settles each delivery in a
   * microtask of its own, and rhea writes what is queued at every `process.nextTick`; the tick
   * queue runs once the microtasks are done).
   */
  #schedule(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    process.nextTick(() => this.#flushAcks());
  }

  #flushAcks(): void {
    this.#flushing = false;
    const acks = this.#acks;
    this.#acks = [];
    for (const a of acks) if (a.attached()) a.delivery.accept();
    const credit = this.#credit;
    this.#credit = 0;
    if (credit > 0 && !this.#stopped && !this.#closed) this.#receiver?.add_credit(credit);
    if (acks.length > 0 || credit > 0) this.host.cork();
  }

  /** An outcome other than accepted, written on its own (see the module comment). */
  #alone(settle: () => void): void {
    this.host.flush();
    settle();
    this.host.flush();
  }

  /** Attaches the link; resolves once the broker has attached it (the queue exists then). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const receiver = this.#open();
      const fail = (context: EventContext) => {
        receiver.removeListener("receiver_open", ok);
        this.#abort = undefined;
        reject(new Error(linkError(context, "the broker refused the receiver")));
      };
      const ok = () => {
        receiver.removeListener("receiver_error", fail);
        this.#abort = undefined;
        resolve();
      };
      this.#abort = () => {
        receiver.removeListener("receiver_open", ok);
        receiver.removeListener("receiver_error", fail);
        reject(new ClosedError("activemq: the consumer was closed while it started"));
      };
      receiver.once("receiver_open", ok);
      receiver.once("receiver_error", fail);
    });
  }

  #open(): Receiver {
    const link = ++this.#link;
    const receiver = this.host.openReceiver({
      ...this.receiverOptions,
      autoaccept: false,
      credit_window: 0,
    });
    this.#receiver = receiver;
    receiver.on("receiver_open", () => {
      if (link !== this.#link) return;
      // A first attach, or a re-attach after a reconnect: what was out before is stale.
      this.#generation = this.host.generation;
      this.#credit = 0;
      if (!this.#stopped && !this.#closed) receiver.add_credit(this.options.prefetch);
    });
    receiver.on("message", (context: EventContext) => this.#onMessage(context, link));
    receiver.on("receiver_error", (context: EventContext) => {
      if (this.#closed) return;
      this.host.warn(`activemq: consumer of ${this.target}: ${linkError(context, "detached")}`);
    });
    receiver.on("receiver_close", () => {
      // Detached by the broker (its queue deleted, an error): attach again while still wanted.
      if (this.#closed || link !== this.#link) return;
      this.#reattach ??= setTimeout(() => {
        this.#reattach = undefined;
        if (!this.#closed) this.#open();
      }, REATTACH_MS);
      this.#reattach.unref();
    });
    return receiver;
  }

  #onMessage(context: EventContext, link: number): void {
    const delivery = context.delivery as Delivery;
    const raw = context.message!;
    if (this.#stopped || this.#closed) {
      this.#alone(() => delivery.release());
      return;
    }
    const generation = this.#generation;
    const message = fromAmqp(raw);
    const attached = () =>
      link === this.#link && generation === this.#generation && generation === this.host.generation;
    const live = () => !this.#closed && attached();
    const done = () => {
      this.#unsettled.delete(delivery);
      if (!live()) return;
      if (!this.#stopped) {
        this.#credit++;
        this.#schedule();
      }
    };
    const settled: OmnibusDelivery = settleOnce(message, {
      stale: () => !live(),
      ack: async () => {
        this.#acks.push({ delivery, attached });
        this.#schedule();
        done();
      },
      nack: async (o) => {
        const delayMs = o?.delayMs ?? 0;
        if (delayMs > 0) {
          try {
            await this.host.redeliverLater(this.target, message, delayMs);
          } catch (error) {
            // The copy was not accepted: redeliver now rather than lose it.
            this.host.warn(`activemq: delayed redelivery to ${this.target} failed; redelivering now`, error);
            if (live()) this.#alone(() => delivery.modified({ delivery_failed: true }));
            done();
            return;
          }
          if (live()) delivery.accept();
          done();
          return;
        }
        this.#alone(() => delivery.modified({ delivery_failed: true }));
        done();
      },
    });
    this.#unsettled.set(delivery, () => {
      if (attached()) delivery.modified({ delivery_failed: true });
    });
    this.options.onDelivery(settled);
  }

  async stop(): Promise<void> {
    if (this.#stopped || this.#closed) return;
    this.#stopped = true;
    const receiver = this.#receiver;
    if (!receiver?.is_open()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_DRAIN_MS);
      timer.unref();
      receiver.once("receiver_drained", () => {
        clearTimeout(timer);
        resolve();
      });
      receiver.drain_credit();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopped = true;
    this.#closed = true;
    clearTimeout(this.#reattach);
    this.#abort?.();
    this.host.forget(this);
    const receiver = this.#receiver;
    if (!receiver) return;
    // Acks first (they stay acked), then hand back what core still holds, counted as an attempt;
    // later settles of those are no-ops.
    this.#flushAcks();
    this.host.flush();
    for (const handBack of this.#unsettled.values()) handBack();
    this.#unsettled.clear();
    this.#link++;
    this.host.flush();
    if (!receiver.is_open()) {
      receiver.close();
      await this.#deleteEphemeral();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      timer.unref();
      receiver.once("receiver_close", () => {
        clearTimeout(timer);
        resolve();
      });
      receiver.once("receiver_error", () => {
        clearTimeout(timer);
        resolve();
      });
      receiver.close();
    });
    await this.#deleteEphemeral();
  }

  async #deleteEphemeral(): Promise<void> {
    if (this.ephemeral === undefined) return;
    await this.host.deleteQueue(this.ephemeral).catch((error) => {
      this.host.warn(`activemq: cannot delete the ephemeral queue ${this.ephemeral}`, error);
    });
  }

  /** Whether it still runs (not closed). */
  get running(): boolean {
    return !this.#closed;
  }
}

/** The broker's reason for a link's end, as text. */
export function linkError(context: EventContext, fallback: string): string {
  const error = (context.receiver ?? context.sender)?.error as
    | { condition?: string; description?: string }
    | undefined;
  if (!error) return fallback;
  return `${error.condition ?? "error"}: ${error.description ?? ""}`.trim();
}
