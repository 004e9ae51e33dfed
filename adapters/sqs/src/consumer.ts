import { type Message, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  ConfigError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Delivery,
  type OmnibusError,
} from "@omnibus/core";
import type { Batcher } from "./batcher.js";
import { isAuthError, isQueueMissing, isSetupError, translate } from "./errors.js";
import { backoff, sleep } from "./util.js";
import { type AttributeValue, decodeMessage } from "./wire.js";

/** Longest visibility timeout SQS accepts (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;
/**
 * How much longer than `waitTimeSeconds` stop() waits for a receive in flight before it gives up
 * on it (a receive that takes longer is stuck on the network: the server is not answering it).
 */
export const STOP_GRACE_MS = 5_000;

/** What a consumer needs from its adapter. */
export interface ConsumerContext {
  /** The SQS client for ReceiveMessage (its own connection pool: long polls hold sockets). */
  readonly receiver: SQSClient;
  readonly visibilityTimeoutSeconds: number;
  readonly waitTimeSeconds: number;
  readonly maxPollers: number;
  /** DeleteMessageBatch, keyed by queue URL, items = receipt handles. */
  readonly deletes: Batcher<string>;
  /** ChangeMessageVisibilityBatch, keyed by `<seconds> <queue URL>`, items = receipt handles. */
  readonly visibility: Batcher<string>;
  /** Describes the source in errors, e.g. `queue orders`. */
  readonly label: string;
  /**
   * The queue URL; `redeclare` = the queue was found missing: create it again (with its
   * subscription for a group) when the adapter may, else throw `ConfigError`.
   */
  declare(redeclare: boolean): Promise<string>;
  /** Called once after close(), e.g. to delete an ephemeral queue. */
  onClose(): Promise<void>;
  /** Called once the last long poll of a closed consumer has returned. */
  onIdle(): void;
}

interface Held {
  readonly handle: string;
  readonly url: string;
  settled: boolean;
  /** When visibility was last set (receive or heartbeat). */
  extendedAt: number;
  /** A heartbeat extension in flight; a nack waits for it so that it is not overtaken. */
  extending: Promise<void> | undefined;
}

/**
 * One consumer: long-polling pollers sized from free prefetch slots, a visibility heartbeat for
 * deliveries whose handlers still run, batched deletes (ack) and visibility changes (nack).
 */
export class SqsConsumer implements ConsumerHandle {
  readonly #ctx: ConsumerContext;
  readonly #prefetch: number;
  readonly #onDelivery: ConsumeOptions["onDelivery"];
  readonly #onError: ConsumeOptions["onError"];
  readonly #held = new Set<Held>();
  readonly #aborts = new Set<AbortController>();
  readonly #stopSignal = new AbortController();
  readonly #pollerPromises = new Set<Promise<void>>();
  #waiters: (() => void)[] = [];
  #url = "";
  #outstanding = 0;
  #reserved = 0;
  #pollers = 0;
  #failures = 0;
  /** No new receives (stop() was called, or the consumer failed). */
  #stopped = false;
  /**
   * What a receive brings back may still be handed out: true until stop() resolves (or the
   * consumer failed). A receive that comes back later can only give its messages back.
   */
  #accepting = true;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(ctx: ConsumerContext, options: ConsumeOptions) {
    this.#ctx = ctx;
    this.#prefetch = options.prefetch;
    this.#onDelivery = options.onDelivery;
    this.#onError = options.onError;
  }

  /** Declare the source and start polling. */
  async start(): Promise<void> {
    this.#url = await this.#ctx.declare(false);
    const period = Math.max(250, (this.#ctx.visibilityTimeoutSeconds * 1000) / 4);
    this.#heartbeat = setInterval(() => this.#extend(), period);
    this.#spawn(true);
  }

  /** Deliveries handed out and not settled yet. */
  get outstanding(): number {
    return this.#outstanding;
  }

  // ------------------------------------------------------------------ polling

  get #batchTarget(): number {
    return Math.min(10, this.#prefetch);
  }

  #spawn(primary: boolean): void {
    this.#pollers++;
    const run = this.#poll(primary).finally(() => {
      this.#pollers--;
      this.#pollerPromises.delete(run);
    });
    this.#pollerPromises.add(run);
  }

  /** Wait for enough free prefetch slots and reserve them; 0 once stopped. */
  async #reserve(): Promise<number> {
    const target = this.#batchTarget;
    const threshold = Math.max(1, Math.ceil(target / 2));
    for (;;) {
      if (this.#stopped) return 0;
      const free = this.#prefetch - this.#outstanding - this.#reserved;
      if (free >= threshold) {
        const n = Math.min(target, free);
        this.#reserved += n;
        return n;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  async #poll(primary: boolean): Promise<void> {
    while (!this.#stopped) {
      const n = await this.#reserve();
      if (n === 0) return;
      if (this.#stopped) {
        // stop() ran between the reservation and here: a receive now could not be handed out.
        this.#reserved -= n;
        this.#wake();
        return;
      }
      const abort = new AbortController();
      this.#aborts.add(abort);
      let messages: Message[];
      try {
        const out = await this.#ctx.receiver.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#url,
            MaxNumberOfMessages: n,
            WaitTimeSeconds: this.#ctx.waitTimeSeconds,
            VisibilityTimeout: this.#ctx.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
            MessageAttributeNames: ["All"],
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
        this.#failures = 0;
      } catch (error) {
        this.#reserved -= n;
        this.#wake();
        if (this.#stopped) return;
        await this.#recover(error);
        continue;
      } finally {
        this.#aborts.delete(abort);
      }
      this.#reserved -= n;
      if (!this.#accepting) {
        // Came back after stop() gave up on it (a receive stuck past waitTimeSeconds) or after
        // the consumer failed: it cannot be handed out, so give it back at once. Only here does a
        // receive count (ApproximateReceiveCount) that core never saw.
        this.#release(messages.map((m) => m.ReceiptHandle!).filter(Boolean), this.#url);
        this.#wake();
        return;
      }
      // Handed out even while stop() is waiting for this receive: stop() has not resolved yet,
      // and the slots were reserved, so prefetch still holds.
      const receivedAt = Date.now();
      for (const m of messages) this.#deliver(m, receivedAt);
      this.#wake();
      if (this.#stopped) return;
      const maxPollers = Math.min(this.#ctx.maxPollers, Math.ceil(this.#prefetch / 10));
      if (messages.length === n && n === this.#batchTarget && this.#pollers < maxPollers) this.#spawn(false);
      else if (!primary && messages.length === 0) return;
    }
  }

  #deliver(m: Message, receivedAt: number): void {
    const held: Held = {
      handle: m.ReceiptHandle!,
      url: this.#url,
      settled: false,
      extendedAt: receivedAt,
      extending: undefined,
    };
    const decoded = decodeMessage(m.Body, m.MessageAttributes as Record<string, AttributeValue> | undefined, {
      messageId: m.MessageId,
      sentTimestamp: m.Attributes?.SentTimestamp,
    });
    const attempt = Number(m.Attributes?.ApproximateReceiveCount);
    this.#held.add(held);
    this.#outstanding++;
    const delivery: Delivery = {
      message: { ...decoded, attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1, native: m },
      ack: () => this.#ack(held),
      nack: (options) => this.#nack(held, options?.delayMs),
    };
    try {
      this.#onDelivery(delivery);
    } catch {
      // core never throws from onDelivery; a bug there must not stop the poller.
    }
  }

  async #recover(error: unknown): Promise<void> {
    if (isQueueMissing(error)) {
      try {
        this.#url = await this.#ctx.declare(true);
        return;
      } catch (redeclare) {
        if (redeclare instanceof ConfigError) return this.#fail(redeclare);
        error = redeclare;
      }
    } else if (isAuthError(error) || isSetupError(error)) {
      return this.#fail(translate(error, `cannot receive from ${this.#ctx.label}`));
    }
    // Network, throttling, server errors: keep trying (the broker may be restarting).
    // At most a second between tries: a receive is cheap, and a consumer should resume within a
    // second or two of the broker answering again.
    await sleep(backoff(this.#failures++, 100, 1000), this.#stopSignal.signal);
  }

  #fail(error: OmnibusError): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#accepting = false;
    this.#stopSignal.abort();
    this.#wake();
    this.#onError(error);
  }

  // ------------------------------------------------------------------ settling

  #settle(held: Held): boolean {
    if (held.settled) return false;
    held.settled = true;
    this.#held.delete(held);
    this.#outstanding--;
    this.#wake();
    return true;
  }

  // ack and nack resolve once the request is queued for its batch (the SPI allows "sent or
  // batched"): core waits for them before it takes the next message, so waiting for the
  // round trip would throttle a consumer to one message per round trip. A batch that fails
  // loses nothing: the message comes back after its visibility timeout (at-least-once).

  #ack(held: Held): Promise<void> {
    if (this.#settle(held)) void this.#ctx.deletes.add(held.url, held.handle).catch(() => {});
    return Promise.resolve();
  }

  async #nack(held: Held, delayMs: number | undefined): Promise<void> {
    if (!this.#settle(held)) return;
    const seconds = Math.min(
      MAX_VISIBILITY_SECONDS,
      delayMs !== undefined && delayMs > 0 ? Math.ceil(delayMs / 1000) : 0,
    );
    // A heartbeat extension still in flight must not land after (and undo) this change.
    if (held.extending) await held.extending;
    void this.#ctx.visibility.add(`${seconds} ${held.url}`, held.handle).catch(() => {});
  }

  /** Heartbeat: push the visibility timeout of deliveries still running past its half-life. */
  #extend(): void {
    const seconds = this.#ctx.visibilityTimeoutSeconds;
    const now = Date.now();
    for (const held of this.#held) {
      if (held.settled || held.extending || now - held.extendedAt < (seconds * 1000) / 2) continue;
      held.extendedAt = now;
      held.extending = this.#ctx.visibility
        .add(`${seconds} ${held.url}`, held.handle)
        .catch(() => {
          // The handle expired (message redelivered) or the broker is away: nothing to save.
        })
        .finally(() => {
          held.extending = undefined;
        });
    }
  }

  /** Make messages visible again now (visibility 0), best effort. */
  #release(handles: string[], url: string): void {
    for (const handle of handles) void this.#ctx.visibility.add(`0 ${url}`, handle).catch(() => {});
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Stop fetching: no new receives; resolves once the receives in flight have come back, and
   * hands out what they bring until then (their prefetch slots were reserved).
   *
   * SQS cannot cancel a receive. Aborting its HTTP request leaves the long poll running on the
   * server, which then takes the next messages that become visible for a client that is gone:
   * they stay hidden for the visibility timeout and their `ApproximateReceiveCount` (the
   * delivery's `attempt`) grows by one that core never saw (seen on ElasticMQ and fauxqs; the
   * same on AWS: aws/aws-sdk-js#2350, aws/aws-sdk-java-v2#1395). A receive that came back after
   * stop() could not be handed out either: given back, it would count the same receive. So stop()
   * waits for them, at most `waitTimeSeconds` (the long-poll wait) plus a grace for the network;
   * only a receive stuck past that is aborted, and what it may still bring is given back.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopped = true;
      this.#stopSignal.abort();
      this.#wake();
      const grace = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.#pollerPromises]),
        sleep(this.#ctx.waitTimeSeconds * 1000 + STOP_GRACE_MS, grace.signal),
      ]);
      grace.abort();
      this.#accepting = false;
      for (const abort of this.#aborts) abort.abort();
    })();
    return this.#stopping;
  }

  /**
   * Give back every delivery not settled yet (visibility 0), and forget it: an ack or nack that
   * comes later is a no-op (its receipt handle may already belong to another consumer's delivery).
   */
  async #releaseHeld(): Promise<void> {
    const held = [...this.#held];
    for (const h of held) this.#settle(h);
    // A heartbeat extension still in flight must not land after (and undo) the release.
    await Promise.allSettled(held.map((h) => h.extending));
    for (const h of held) this.#release([h.handle], h.url);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // First no receive in flight, so that none of ours takes back what is released below.
      await this.stop();
      if (this.#heartbeat) clearInterval(this.#heartbeat);
      // Deliveries never settled (their handlers outlived shutdown): let others have them now.
      await this.#releaseHeld();
      await Promise.allSettled([this.#ctx.deletes.drain(), this.#ctx.visibility.drain()]);
      await this.#ctx.onClose();
      void Promise.allSettled([...this.#pollerPromises]).then(() => this.#ctx.onIdle());
    })();
    return this.#closing;
  }
}
