/**
 * Request-reply: each client's requests wait on one ephemeral inbox queue of its own, matched to
 * replies by a correlation id per request; a replier runs the handler once and sends back its
 * result or its error (an undeliverable reply is dropped, never a reason to run it again).
 * @module
 */

import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ClientInternals } from "./client/internals.js";
import { validate } from "./client/schema.js";
import { encode, normalise } from "./client/send.js";
import { type Received, runAcked, runInbound } from "./client/wire.js";
import type { Codec } from "./codec.js";
import { errorCode, errorMessage } from "./consumer/outcome.js";
import { ClosedError, ConnectionError, RemoteError, RequestTimeoutError } from "./errors.js";
import type { Adapter, ConsumerHandle, Delivery, InboundMessage } from "./spi.js";
import { HeaderNames, type Message } from "./types.js";

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** Told of the reply before the request resolves (its trace span). */
  observe: ((reply: InboundMessage, error?: Error) => void) | undefined;
}

/** Request-reply over an ephemeral inbox queue per client. */
export class RequestBroker {
  readonly #client: ClientInternals;
  readonly #adapter: Adapter;
  readonly #name: string;
  readonly #pending = new Map<string, Pending>();
  #started: Promise<ConsumerHandle> | undefined;
  #closed = false;

  constructor(client: ClientInternals, adapter: Adapter, name: string) {
    this.#client = client;
    this.#adapter = adapter;
    this.#name = name;
  }

  async inbox(): Promise<string> {
    if (this.#closed) throw new ClosedError("the client is closed");
    if (this.#started === undefined) {
      const started = this.#adapter.consume(
        { kind: "queue", name: this.#name, ephemeral: true },
        {
          prefetch: 1000,
          onDelivery: (delivery) => this.#onReply(delivery),
          onError: (error) => this.#lost(started, error),
        },
      );
      this.#started = started;
      started.catch(() => {
        if (this.#started === started) this.#started = undefined;
      });
    }
    await this.#started;
    return this.#name;
  }

  /**
   * The inbox consumer failed for good: the requests waiting on it fail now (their replies can no
   * longer arrive), and the next request starts a new inbox.
   */
  #lost(inbox: Promise<ConsumerHandle>, error: Error): void {
    this.#client.logger.error("request inbox consumer failed; the next request opens a new one", {
      destination: `queue:${this.#name}`,
      error,
    });
    if (this.#started === inbox) this.#started = undefined;
    void inbox.then((handle) => handle.close()).catch(() => {});
    for (const [id, pending] of this.#pending) {
      this.cancel(id);
      pending.reject(
        new ConnectionError("the request inbox was lost before the reply arrived", { cause: error }),
      );
    }
  }

  expect(
    id: string,
    timeoutMs: number,
    queue: string,
    observe?: (reply: InboundMessage, error?: Error) => void,
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ClosedError("the client is closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RequestTimeoutError(`no reply from ${queue} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, observe });
    });
  }

  cancel(id: string): void {
    const pending = this.#pending.get(id);
    if (pending) clearTimeout(pending.timer);
    this.#pending.delete(id);
  }

  #onReply(delivery: Delivery): void {
    const acked = delivery.ack().then(
      () => true,
      () => false,
    );
    const m = delivery.message;
    const id = m.correlationId;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    // A late reply after a timeout, or a duplicate. (A payload it offloaded to a claim-check
    // store is left to the store's expiry: fetching it only to delete it is not worth it.)
    if (!pending) return;
    if (this.#client.inbound.length > 0) {
      // The request's timer keeps running while the steps fetch: a slow store cannot make the
      // request wait past its timeout.
      void this.#receive(id!, m, pending, acked);
      return;
    }
    this.cancel(id!);
    if (m.headers[HeaderNames.ReplyStatus] === "error") {
      const error = new RemoteError(
        m.headers[HeaderNames.ReplyErrorMessage] ?? "unknown error",
        m.headers[HeaderNames.ReplyErrorCode],
      );
      pending.observe?.(m, error);
      pending.reject(error);
      return;
    }
    let value: unknown;
    try {
      value = this.#client.decode(m.headers, m.body);
    } catch (error) {
      pending.observe?.(m, error as Error);
      pending.reject(error as Error);
      return;
    }
    pending.observe?.(m);
    pending.resolve(value);
  }

  /** A reply through the middleware's `inbound` steps (a claim check fetching its payload). */
  async #receive(id: string, m: InboundMessage, pending: Pending, acked: Promise<boolean>): Promise<void> {
    let received: Received;
    try {
      received = await runInbound(this.#client.inbound, { kind: "queue", name: this.#name }, m);
    } catch (error) {
      this.cancel(id);
      pending.reject(error as Error);
      return;
    }
    this.cancel(id);
    if (received.headers[HeaderNames.ReplyStatus] === "error") {
      pending.reject(
        new RemoteError(
          received.headers[HeaderNames.ReplyErrorMessage] ?? "unknown error",
          received.headers[HeaderNames.ReplyErrorCode],
        ),
      );
    } else {
      try {
        pending.resolve(this.#client.decode(received.headers, received.body));
      } catch (error) {
        pending.reject(error as Error);
      }
    }
    if (received.acked.length > 0 && (await acked)) await runAcked(this.#client.logger, received.acked, m.id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [id, pending] of this.#pending) {
      this.cancel(id);
      pending.reject(new ClosedError("the client closed before the reply arrived"));
    }
    const handle = await this.#started?.catch(() => undefined);
    await handle?.stop();
    await handle?.close();
  }
}

/** What {@link replyHandler} needs. */
export interface ReplyConfig {
  readonly client: ClientInternals;
  readonly adapter: Adapter;
  readonly queue: string;
  readonly codec: Codec<any>;
  readonly requestSchema: StandardSchemaV1 | undefined;
  readonly responseSchema: StandardSchemaV1 | undefined;
}

/**
 * The consumer handler behind `client.reply()`: it never throws for what the replier's handler
 * does — a thrown error becomes an error reply — and drops a reply that cannot be delivered after
 * one more try (the requester gave up and its inbox is gone).
 */
export function replyHandler(
  config: ReplyConfig,
  handler: (message: Message<any>) => unknown,
): (message: Message<any>) => Promise<void> {
  const { client, adapter, queue } = config;
  return async (message) => {
    const headers: Record<string, string> = {};
    let result: unknown;
    try {
      const input = config.requestSchema
        ? await validate(config.requestSchema, message.body, `request ${queue}`)
        : message.body;
      result = await handler({ ...message, body: input });
      if (config.responseSchema)
        result = await validate(config.responseSchema, result, `response of ${queue}`);
      headers[HeaderNames.ReplyStatus] = "ok";
    } catch (error) {
      result = undefined;
      headers[HeaderNames.ReplyStatus] = "error";
      headers[HeaderNames.ReplyErrorCode] = errorCode(error);
      headers[HeaderNames.ReplyErrorMessage] = errorMessage(error);
    }
    if (message.replyTo === undefined) return; // fire-and-forget request
    const options = normalise(adapter, { headers, correlationId: message.correlationId ?? message.id }, true);
    // With `outbound` middleware steps (a claim check), the size is checked after them.
    const reply = encode(adapter, config.codec, result, options, !client.hasOutbound);
    // The handler ran: a reply that cannot be delivered is dropped after one more try, never a
    // reason to run the handler again.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.sendPrepared(adapter, { kind: "queue", name: message.replyTo }, reply, {
          outbound: true,
          parent: client.telemetry()?.contextOf(message),
        });
        return;
      } catch (error) {
        if (attempt >= 2 || client.closing()) {
          client.logger.warn(`reply to ${message.replyTo} could not be sent; dropped`, {
            destination: `queue:${queue}`,
            replyTo: message.replyTo,
            id: message.id,
            error: errorMessage(error),
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
}
