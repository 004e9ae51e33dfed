/**
 * One consumer: deliveries from the adapter are buffered, started up to `concurrency` at once (one
 * at a time per key), decoded, validated, run through middleware and the handler, and settled:
 * ack on success, nack with a delay or dead-letter on failure (see `outcome.ts`). Shutdown stops
 * fetching, starts nothing more, waits for running handlers up to a deadline, and releases.
 * @module
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ClientInternals } from "../client/internals.js";
import { positiveInt, type ResolvedOptions } from "../client/options.js";
import { schemaFor, validate } from "../client/schema.js";
import { type InboundStep, inboundSteps, type Received, runAcked, runInbound } from "../client/wire.js";
import type { Codec } from "../codec.js";
import { compose } from "../compose.js";
import { ConnectionError, DeadLetterError, DecodeError } from "../errors.js";
import { deadLetterQueueFor, validateName } from "../names.js";
import type { RetryPolicy } from "../retry.js";
import { resolveRetryPolicy } from "../retry.js";
import type { Adapter, ConsumerHandle, Delivery, Source } from "../spi.js";
import type { ProcessOp } from "../telemetry/telemetry.js";
import type { ConsumeContext, ConsumerOptions, Handler, Message, Subscription } from "../types.js";
import { describeSource, settle, withDeadline } from "../util.js";
import { deadLetterHeaders, decide, errorMessage } from "./outcome.js";

function decodeWith(codec: Codec<any>, bytes: Uint8Array): unknown {
  try {
    return codec.decode(bytes);
  } catch (error) {
    throw new DecodeError(`body is not valid ${codec.contentType}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** How a {@link ConsumerRunner} runs. */
export interface RunnerConfig {
  client: ClientInternals;
  adapter: Adapter;
  source: Source;
  handler: Handler<any>;
  concurrency: number;
  prefetch: number;
  retry: RetryPolicy;
  dlq: string;
  chain: (ctx: ConsumeContext) => Promise<void>;
  hasMiddleware: boolean;
  /** The middleware's `inbound` steps, innermost first; empty when none. */
  inbound: readonly InboundStep[];
  orderByKey: boolean;
  startTimeoutMs: number;
  schema: StandardSchemaV1 | undefined;
  codec: Codec<any> | undefined;
}

/**
 * A runner's configuration from a consumer's options and the client's defaults (throws
 * `ConfigError` for bad options).
 */
export function runnerConfig(
  client: ClientInternals,
  defaults: ResolvedOptions,
  adapter: Adapter,
  source: Source,
  handler: Handler<any>,
  options: ConsumerOptions,
): RunnerConfig {
  const concurrency = positiveInt("concurrency", options.concurrency, defaults.concurrency);
  const prefetch = positiveInt(
    "prefetch",
    options.prefetch,
    defaults.prefetch ?? Math.max(256, concurrency * 8),
  );
  const retry = options.retry ? resolveRetryPolicy({ ...defaults.retry, ...options.retry }) : defaults.retry;
  const dlq = validateName("queue", options.deadLetterQueue ?? deadLetterQueueFor(source));
  const use = [...defaults.use, ...(options.use ?? [])];
  const middleware = use.filter((m) => m.consume);
  return {
    client,
    adapter,
    source,
    handler,
    concurrency,
    prefetch: Math.max(prefetch, concurrency),
    retry,
    dlq,
    chain: compose<ConsumeContext>(
      middleware.map((m) => m.consume!.bind(m)),
      async (ctx) => {
        await handler(ctx.message);
      },
    ),
    hasMiddleware: middleware.length > 0,
    inbound: inboundSteps(use),
    orderByKey: options.orderByKey ?? true,
    startTimeoutMs: defaults.connectTimeoutMs,
    codec: options.codec,
    schema: schemaFor(defaults.contract, source.kind, source.name),
  };
}

/** Runs one consumer: bounded concurrency, decode, middleware, handler, settle, retry, DLQ. */
export class ConsumerRunner implements Subscription {
  readonly #c: RunnerConfig;
  #handle: ConsumerHandle | undefined;
  readonly #buffer: Delivery[] = [];
  #head = 0;
  /** Keys with a handler running, each with the deliveries of that key waiting their turn. */
  readonly #keys = new Map<string, Delivery[]>();
  #running = 0;
  #settling = 0;
  #idleWaiters: (() => void)[] = [];
  #shutdown: Promise<void> | undefined;
  #starting: Promise<void> | undefined;
  /** Set when shutdown begins: no handler starts after it. */
  #stopping = false;
  onClosed: () => void = () => {};

  constructor(config: RunnerConfig) {
    this.#c = config;
  }

  get source(): string {
    return this.#c.source.name;
  }
  get group(): string | undefined {
    return this.#c.source.kind === "topic" ? this.#c.source.group : undefined;
  }
  get deadLetterQueue(): string {
    return this.#c.dlq;
  }

  /** The source as the SPI names it (queue, or topic and group). */
  get sourceAddress(): Source {
    return this.#c.source;
  }

  /** What every log line about one delivery carries: where it came from and which message. */
  #fields(delivery: Delivery): Record<string, unknown> {
    return {
      destination: describeSource(this.#c.source),
      id: delivery.message.id,
      attempt: delivery.message.attempt,
    };
  }

  /** Why the adapter gave up on this consumer (`onError`), if it did. */
  get failure(): string | undefined {
    return this.#failure;
  }
  #failure: string | undefined;

  /** Handlers running now. */
  get handlersRunning(): number {
    return this.#running;
  }

  start(): Promise<void> {
    this.#starting = this.#open();
    return this.#starting;
  }

  async #open(): Promise<void> {
    const starting = this.#c.adapter.consume(this.#c.source, {
      prefetch: this.#c.prefetch,
      onDelivery: (delivery) => {
        this.#buffer.push(delivery);
        this.#pump();
      },
      onError: (error) => {
        this.#failure ??= errorMessage(error);
        this.#c.client.noteError(error);
        this.#c.client.logger.error(`consumer of ${describeSource(this.#c.source)} failed`, {
          destination: describeSource(this.#c.source),
          error,
        });
      },
    });
    const ms = this.#c.startTimeoutMs;
    try {
      this.#handle = await withDeadline(
        starting,
        ms,
        () =>
          new ConnectionError(
            `${this.#c.adapter.name}: the consumer of ${describeSource(this.#c.source)} did not start within ${ms} ms`,
          ),
      );
    } catch (error) {
      // A consumer that starts after all is closed at once.
      void starting.then((handle) => handle.close()).catch(() => {});
      throw error;
    }
  }

  #pump(): void {
    // Once shutdown began, buffered deliveries are not started: closing the consumer releases
    // them to the broker, which hands them to another consumer.
    if (this.#stopping) return;
    while (this.#running < this.#c.concurrency && this.#head < this.#buffer.length) {
      const delivery = this.#buffer[this.#head]!;
      this.#buffer[this.#head++] = undefined as unknown as Delivery;
      if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer.splice(0, this.#head);
        this.#head = 0;
      }
      // Its connection is gone: the broker redelivers it; running it now would only duplicate.
      if (delivery.stale === true) continue;
      const key = this.#c.orderByKey ? delivery.message.key : undefined;
      if (key !== undefined) {
        const waiting = this.#keys.get(key);
        if (waiting !== undefined) {
          // A message with this key is being handled: this one starts when that one is done.
          waiting.push(delivery);
          continue;
        }
        this.#keys.set(key, []);
      }
      this.#start(delivery, key);
    }
  }

  #start(delivery: Delivery, key: string | undefined): void {
    this.#running++;
    // One reaction per message on the hot path (not a .catch().finally() pair).
    this.#process(delivery).then(
      () => this.#finished(key),
      (error: unknown) => this.#unexpected(delivery, error).finally(() => this.#finished(key)),
    );
  }

  /** A handler slot is free again: the key's next message, or the next buffered one. */
  #finished(key: string | undefined): void {
    this.#running--;
    if (key !== undefined) {
      // The slot goes to the next message of the same key, which keeps holding the key.
      const waiting = this.#keys.get(key)!;
      let next = this.#stopping ? undefined : waiting.shift();
      while (next?.stale === true) next = waiting.shift();
      if (next === undefined) this.#keys.delete(key);
      else this.#start(next, key);
    }
    this.#pump();
    this.#checkIdle();
  }

  /** A failure of core's own path (never of the handler, whose errors are outcomes): nack. */
  async #unexpected(delivery: Delivery, error: unknown): Promise<void> {
    this.#c.client.logger.error(
      `consumer of ${describeSource(this.#c.source)} failed on a message; it will be redelivered`,
      {
        destination: describeSource(this.#c.source),
        id: delivery.message.id,
        error: errorMessage(error),
      },
    );
    return settle(
      this.#c.client.logger,
      "nack",
      () => delivery.nack({ delayMs: 1000 }),
      this.#fields(delivery),
    );
  }

  /** Nothing runs, nothing settles, and nothing waits to start (or shutdown began). */
  #isIdle(): boolean {
    return (
      this.#running === 0 && this.#settling === 0 && (this.#stopping || this.#head >= this.#buffer.length)
    );
  }

  /**
   * Track a settlement (ack or nack) without holding a handler slot: adapters may batch
   * settlements on a timer, and a slot held until the batch flushes would cap throughput at
   * `concurrency` messages per flush.
   */
  #background(settlement: Promise<void>): void {
    this.#settling++;
    void settlement.finally(this.#settled);
  }

  #checkIdle(): void {
    if (this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #process(delivery: Delivery): Promise<void> {
    const op = this.#c.client.telemetry()?.process(this.#c.source, delivery.message);
    if (op === undefined) return this.#run(delivery, undefined);
    return this.#run(delivery, op).catch((error: unknown) => {
      op.end("nack", error);
      throw error;
    });
  }

  async #run(delivery: Delivery, op: ProcessOp | undefined): Promise<void> {
    const inbound = delivery.message;
    const { retry, client } = this.#c;
    if (inbound.attempt > retry.maxAttempts) {
      return this.#deadLetter(
        delivery,
        new DeadLetterError(`delivered ${inbound.attempt} times (max ${retry.maxAttempts})`),
        op,
      );
    }
    // The bytes as they travelled, through the middleware's inbound steps (a claim check fetches
    // and verifies its payload here): a DecodeError dead-letters at once, anything else is a
    // failed attempt (a blob store that is down is retried).
    let wire: Received | undefined;
    if (this.#c.inbound.length > 0) {
      try {
        wire = await runInbound(this.#c.inbound, this.#c.source, inbound);
      } catch (error) {
        return error instanceof DecodeError
          ? this.#deadLetter(delivery, error, op)
          : this.#failed(delivery, error, op);
      }
    }
    const headers = wire?.headers ?? inbound.headers;
    const bytes = wire?.body ?? inbound.body;
    let message: Message;
    try {
      let body = this.#c.codec ? decodeWith(this.#c.codec, bytes) : client.decode(headers, bytes);
      if (this.#c.schema) body = await validate(this.#c.schema, body, describeSource(this.#c.source));
      message = {
        id: inbound.id,
        body,
        headers,
        key: inbound.key,
        correlationId: inbound.correlationId,
        replyTo: inbound.replyTo,
        timestamp: new Date(inbound.timestamp),
        attempt: inbound.attempt,
        source: this.#c.source.name,
        group: this.#c.source.kind === "topic" ? this.#c.source.group : undefined,
        rawBody: bytes,
        native: inbound.native,
      };
    } catch (error) {
      return this.#deadLetter(delivery, error, op);
    }
    try {
      const run = this.#c.hasMiddleware
        ? () => this.#c.chain({ message, kind: this.#c.source.kind, client: client.client, state: {} })
        : undefined;
      if (op?.live) {
        client.telemetry()?.remember(message, op.context);
        await op.run(
          run ??
            (async () => {
              await this.#c.handler(message);
            }),
        );
      } else if (run !== undefined) {
        await run();
      } else {
        await this.#c.handler(message);
      }
    } catch (error) {
      return this.#failed(delivery, error, op);
    }
    op?.end("ack");
    if (wire !== undefined && wire.acked.length > 0) this.#background(this.#ackThen(delivery, wire.acked));
    else this.#ack(delivery);
  }

  /**
   * Ack in the background (see {@link ConsumerRunner.#background}); a failure is logged, never
   * thrown: the broker redelivers an unacked message. One reaction per message, no closure or
   * log fields built unless the ack fails.
   */
  #ack(delivery: Delivery): void {
    this.#settling++;
    let acked: Promise<void>;
    try {
      acked = delivery.ack();
    } catch (error) {
      acked = Promise.reject(error);
    }
    acked.then(this.#settled, (error: unknown) => {
      try {
        this.#c.client.logger.warn("ack failed; the message will be redelivered", {
          ...this.#fields(delivery),
          error,
        });
      } finally {
        this.#settled(); // even if the logger throws: close() waits for this count
      }
    });
  }

  readonly #settled = (): void => {
    this.#settling--;
    this.#checkIdle();
  };

  /** Ack, and once the broker took the ack, run the middleware's `onAcked` callbacks. */
  async #ackThen(delivery: Delivery, callbacks: Received["acked"]): Promise<void> {
    const { logger } = this.#c.client;
    try {
      await delivery.ack();
    } catch (error) {
      logger.warn("ack failed; the message will be redelivered", { error, ...this.#fields(delivery) });
      return;
    }
    await runAcked(logger, callbacks, delivery.message.id);
  }

  async #failed(delivery: Delivery, error: unknown, op: ProcessOp | undefined): Promise<void> {
    const { attempt } = delivery.message;
    const { retry, client } = this.#c;
    const outcome = decide(error, attempt, retry);
    if (outcome.kind === "dead-letter") return this.#deadLetter(delivery, error, op);
    op?.end("nack", error, outcome.delayMs);
    client.logger.debug(`handler failed on ${describeSource(this.#c.source)}; retrying`, {
      destination: describeSource(this.#c.source),
      id: delivery.message.id,
      attempt,
      delayMs: outcome.delayMs,
      error: errorMessage(error),
    });
    this.#background(
      settle(
        client.logger,
        "nack",
        () => delivery.nack({ delayMs: outcome.delayMs }),
        this.#fields(delivery),
      ),
    );
  }

  async #deadLetter(delivery: Delivery, error: unknown, op: ProcessOp | undefined): Promise<void> {
    const m = delivery.message;
    const { client, adapter, dlq } = this.#c;
    // As many dead-letter headers as fit the adapter's limit with the message: a message near
    // the limit is still dead-lettered (with fewer headers), never retried forever.
    const headers = deadLetterHeaders(
      m.headers,
      m.body.byteLength,
      { error, attempts: m.attempt, origin: describeSource(this.#c.source), at: new Date() },
      adapter.features.maxMessageBytes,
    );
    try {
      await client.sendPrepared(
        adapter,
        { kind: "queue", name: dlq },
        {
          id: m.id,
          body: m.body,
          headers,
          key: m.key,
          correlationId: m.correlationId,
          replyTo: m.replyTo,
          timestamp: m.timestamp,
        },
        { parent: op?.context },
      );
    } catch (sendError) {
      op?.end("nack", sendError, 1000);
      client.logger.error(`could not dead-letter message to ${dlq}; it will be redelivered`, {
        destination: describeSource(this.#c.source),
        deadLetterQueue: dlq,
        id: m.id,
        error: sendError,
      });
      return settle(client.logger, "nack", () => delivery.nack({ delayMs: 1000 }), this.#fields(delivery));
    }
    op?.end("dead_letter", error);
    client.logger.warn(`dead-lettered message from ${describeSource(this.#c.source)} to ${dlq}`, {
      destination: describeSource(this.#c.source),
      deadLetterQueue: dlq,
      id: m.id,
      attempt: m.attempt,
      reason: errorMessage(error),
    });
    await settle(client.logger, "ack", () => delivery.ack(), this.#fields(delivery));
  }

  #idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stop fetching, drain until `deadline`, release. */
  shutdown(deadline: number): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#stopping = true;
      try {
        await this.#starting?.catch(() => {});
        await this.#handle?.stop();
        const left = deadline - Date.now();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          this.#idle().then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), Math.max(0, left));
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          this.#c.client.logger.warn(
            `closing ${describeSource(this.#c.source)} with ${this.#running} handler(s) still running; their messages will be redelivered`,
            { destination: describeSource(this.#c.source), handlersRunning: this.#running },
          );
        }
        await this.#handle?.close();
      } finally {
        this.onClosed();
      }
    })();
    return this.#shutdown;
  }

  close(): Promise<void> {
    return this.shutdown(Date.now() + this.#c.client.closeTimeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
