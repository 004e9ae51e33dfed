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
import type {
  ConsumeOptions,
  ConsumerHandle,
  InboundMessage,
  Delivery as OmnibusDelivery,
} from "@omnibus/core/adapter";
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
  /** Deliveries handed to core and not settled yet. */
  readonly #unsettled = new Set<ArtemisDelivery>();
  /** Acks not written yet (see {@link ArtemisConsumer.#schedule}). */
  #acks: ArtemisDelivery[] = [];
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
    for (const a of acks) if (this.attached(a)) a.delivery.accept();
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
      // Deliveries of the link before are stale: the broker hands them out again.
      for (const d of this.#unsettled) if (!this.attached(d)) this.#unsettled.delete(d);
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
    if (this.#stopped || this.#closed) {
      this.#alone(() => delivery.release());
      return;
    }
    const settled = new ArtemisDelivery(this, fromAmqp(context.message!), delivery, link, this.#generation);
    this.#unsettled.add(settled);
    this.options.onDelivery(settled);
  }

  /** Whether a delivery is still on the link and connection it came on. */
  attached(d: ArtemisDelivery): boolean {
    return (
      d.link === this.#link && d.generation === this.#generation && d.generation === this.host.generation
    );
  }

  /** Whether a delivery can still be settled: attached, and the consumer not closed. */
  live(d: ArtemisDelivery): boolean {
    return !this.#closed && this.attached(d);
  }

  /** The delivery is settled: its credit comes back (batched, see {@link ArtemisConsumer.#schedule}). */
  #done(d: ArtemisDelivery): void {
    this.#unsettled.delete(d);
    if (!this.live(d) || this.#stopped) return;
    this.#credit++;
    this.#schedule();
  }

  /** ack = `accepted`, written with the other acks and credit of this tick. */
  ack(d: ArtemisDelivery): void {
    this.#acks.push(d);
    this.#schedule();
    this.#done(d);
  }

  /** nack = `modified` (delivery-failed) at once, or a delayed copy then `accepted`. */
  async nack(d: ArtemisDelivery, delayMs: number): Promise<void> {
    if (delayMs > 0) {
      try {
        await this.host.redeliverLater(this.target, d.message, delayMs);
      } catch (error) {
        // The copy was not accepted: redeliver now rather than lose it.
        this.host.warn(`activemq: delayed redelivery to ${this.target} failed; redelivering now`, error);
        if (this.live(d)) this.#alone(() => d.delivery.modified({ delivery_failed: true }));
        this.#done(d);
        return;
      }
      if (this.live(d)) d.delivery.accept();
      this.#done(d);
      return;
    }
    this.#alone(() => d.delivery.modified({ delivery_failed: true }));
    this.#done(d);
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
    for (const d of this.#unsettled) if (this.attached(d)) d.delivery.modified({ delivery_failed: true });
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

const DONE: Promise<void> = Promise.resolve();

/**
 * One delivery as core sees it: settled at most once, and not at all once stale (its link or
 * connection is gone: the broker hands the message out again). A class rather than closures: no
 * allocation per message beyond this object and the envelope.
 */
class ArtemisDelivery implements OmnibusDelivery {
  #settled = false;

  constructor(
    readonly owner: ArtemisConsumer,
    readonly message: InboundMessage,
    readonly delivery: Delivery,
    /** The link and connection it came on. */
    readonly link: number,
    readonly generation: number,
  ) {}

  get stale(): boolean {
    return !this.owner.live(this);
  }

  ack(): Promise<void> {
    if (this.#settled) return DONE;
    this.#settled = true;
    if (this.owner.live(this)) this.owner.ack(this);
    return DONE;
  }

  nack(options?: { delayMs?: number }): Promise<void> {
    if (this.#settled) return DONE;
    this.#settled = true;
    if (!this.owner.live(this)) return DONE;
    return this.owner.nack(this, options?.delayMs ?? 0);
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
