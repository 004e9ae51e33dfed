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
  #stopped = false;
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
      if (this.#stopped) {
        // Arrived after stop(): not handed out, so give them back at once.
        this.#release(messages.map((m) => m.ReceiptHandle!).filter(Boolean), this.#url);
        this.#wake();
        return;
      }
      const receivedAt = Date.now();
      for (const m of messages) this.#deliver(m, receivedAt);
      this.#wake();
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
    await sleep(backoff(this.#failures++), this.#stopSignal.signal);
  }

  #fail(error: OmnibusError): void {
    if (this.#stopped) return;
    this.#stopped = true;
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
   * Stop fetching. A long poll in flight is not aborted: the server may already have handed it
   * messages (or hand it some before it notices a closed connection), which would then stay
   * invisible for the whole visibility timeout. It finishes in the background within
   * `waitTimeSeconds` and gives whatever it got back at once (visibility 0).
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopSignal.abort();
    this.#wake();
  }

  /** Abort the long polls in flight (the adapter is closing its HTTP clients). */
  async abort(): Promise<void> {
    await this.stop();
    for (const abort of this.#aborts) abort.abort();
    await Promise.allSettled([...this.#pollerPromises]);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.stop();
      if (this.#heartbeat) clearInterval(this.#heartbeat);
      // Deliveries never settled (their handlers outlived shutdown): let others have them now.
      for (const held of this.#held) this.#release([held.handle], held.url);
      this.#held.clear();
      await Promise.allSettled([this.#ctx.deletes.drain(), this.#ctx.visibility.drain()]);
      await this.#ctx.onClose();
      void Promise.allSettled([...this.#pollerPromises]).then(() => this.#ctx.onIdle());
    })();
    return this.#closing;
  }
}
