/**
 * The client: the application's side of Omnibus. Sending, consuming, request-reply and the
 * lifecycle live here; the send path's checks are in `send.ts`, consumers in `consumer/`,
 * request-reply in `request-reply.ts`.
 * @module
 */

import type { Context } from "@opentelemetry/api";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { jsonCodec } from "../codec.js";
import { compose } from "../compose.js";
import { errorCode, errorMessage } from "../consumer/outcome.js";
import { ConsumerRunner, runnerConfig } from "../consumer/runner.js";
import type { Contract } from "../contract.js";
import {
  ClosedError,
  ConfigError,
  ConnectionError,
  ErrorCode,
  OmnibusError,
  PublishError,
  redact,
  UnsupportedFeatureError,
} from "../errors.js";
import { shortId, uuidv7 } from "../ids.js";
import type { Logger } from "../logger.js";
import { deadLetterQueueFor, validateName } from "../names.js";
import { RequestBroker, replyHandler } from "../request-reply.js";
import { adapterSourceOf } from "../resolve.js";
import type { Adapter, Address, Features, OutboundMessage, Source } from "../spi.js";
import { createTelemetry, type SendOp, type Telemetry } from "../telemetry/telemetry.js";
import {
  type BatchItem,
  type Client,
  type ClientOptions,
  type ConsumerOptions,
  type DeleteOptions,
  type DeleteTopicOptions,
  type DestinationStats,
  type Handler,
  HeaderNames,
  type HealthReport,
  type Message,
  type RequestOptions,
  type SendContext,
  type SendOptions,
  type StatsOptions,
  type SubscribeOptions,
  type Subscription,
} from "../types.js";
import { withDeadline } from "../util.js";
import type { ClientInternals } from "./internals.js";
import { positiveInt, type ResolvedOptions, resolveOptions } from "./options.js";
import { portable } from "./portable.js";
import { schemaFor, validate } from "./schema.js";
import { checkSize, encode, type Normalised, normalise } from "./send.js";
import { inboundSteps, type OutboundStep, outboundSteps, runOutbound } from "./wire.js";

/**
 * Request-reply inboxes are ephemeral queues named `<INBOX_PREFIX><client id>`. Adapters may rely
 * on the prefix, e.g. to refuse to create a durable queue for a reply whose inbox is gone.
 */
export const INBOX_PREFIX = "omnibus.inbox.";

/**
 * Create a client. Nothing connects until the first call (or {@link Client.connect}).
 *
 * @example
 * ```ts
 * const bus = createClient({ url: process.env.BROKER_URL ?? "memory://" });
 * await bus.consume("orders", async (msg) => console.log(msg.body));
 * await bus.send("orders", { sku: "A-1", qty: 2 });
 * await bus.close();
 * ```
 */
export function createClient<const C extends Contract = Contract>(options: ClientOptions<C> = {}): Client<C> {
  return new OmnibusClient<C>(options) as unknown as Client<C>;
}

class OmnibusClient<C extends Contract> implements AsyncDisposable {
  readonly #options: ResolvedOptions;
  readonly #adapterSource: () => Promise<Adapter>;
  #adapter: Adapter | undefined;
  #raw: Adapter | undefined;
  #adapterName: string;
  #connecting: Promise<Adapter> | undefined;
  #closing: Promise<void> | undefined;
  readonly #subscriptions = new Set<ConsumerRunner>();
  readonly #inflightSends = new Set<Promise<unknown>>();
  #requests: RequestBroker | undefined;
  readonly #clientId = shortId();
  /** Groups this client subscribed to or ensured, by topic: `deleteTopic` deletes their DLQs. */
  readonly #groups = new Map<string, Set<string>>();
  /** What consumers and the request broker use of this client. */
  readonly #internals: ClientInternals;

  constructor(options: ClientOptions<C>) {
    this.#options = resolveOptions(options);
    const o = this.#options;
    this.#outbound = outboundSteps(o.use);
    this.#internals = {
      client: this as unknown as Client,
      logger: o.logger,
      closeTimeoutMs: o.closeTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      closing: () => this.#closing !== undefined,
      noteError: (error) => this.#noteError(error),
      decode: (headers, bytes) => o.codecs.decode(headers[HeaderNames.ContentType], bytes, jsonCodec),
      sendPrepared: async (adapter, address, message, options = {}) => {
        const wire = options.outbound ? await this.#wire(adapter, address, message) : message;
        return this.#sendPrepared(adapter, address, wire, options.parent);
      },
      hasOutbound: this.#outbound.length > 0,
      inbound: inboundSteps(o.use),
      telemetry: () => this.#telemetry,
    };
    const steps = this.#options.use.filter((m) => m.send).map((m) => m.send!.bind(m));
    this.#sendChain = steps.length === 0 ? undefined : compose<SendContext>(steps, async () => {});
    const source = adapterSourceOf(options); // throws ConfigError now for a bad URL
    this.#adapterName = source.name;
    this.#adapterSource = source.load;
  }

  /** Traces and metrics, once connected (undefined when off or `@opentelemetry/api` is absent). */
  #telemetry: Telemetry | undefined;

  /** Dead letters and replies: size-checked, traced as a child of the handled message's span. */
  #sendPrepared(
    adapter: Adapter,
    address: Address,
    message: OutboundMessage,
    parent: unknown,
  ): Promise<void> {
    const temporary = address.name.startsWith(INBOX_PREFIX);
    const op = this.#telemetry?.send(address, 1, temporary, parent as Context | undefined);
    let outbound = message;
    if (op) {
      const headers = { ...message.headers };
      op.inject(0, message.id, headers);
      // A message filled to the limit (a dead letter near it) goes without the trace headers.
      try {
        checkSize(adapter, message.body, headers);
        outbound = { ...message, headers };
      } catch {}
    }
    try {
      checkSize(adapter, outbound.body, outbound.headers);
    } catch (error) {
      op?.end(error);
      return Promise.reject(error);
    }
    const sent = this.#transmit(adapter, address, [outbound]);
    if (op)
      sent.then(
        () => op.end(),
        (error: unknown) => op.end(error),
      );
    return sent;
  }

  get adapterName(): string {
    return this.#adapter?.name ?? this.#adapterName;
  }

  get adapter(): Adapter {
    if (!this.#raw) throw new ConfigError("the client is not connected yet: await client.connect() first");
    return this.#raw;
  }

  get features(): Features {
    return this.adapter.features;
  }

  get logger(): Logger {
    return this.#options.logger;
  }

  async connect(): Promise<void> {
    await this.#ready();
  }

  #ready(): Promise<Adapter> {
    if (this.#closing) return Promise.reject(new ClosedError("the client is closed"));
    if (this.#adapter) return Promise.resolve(this.#adapter);
    this.#connecting ??= (async () => {
      const raw = await this.#adapterSource();
      // Core's guards (closed state, error naming) around the adapter; `client.adapter` is the raw one.
      const adapter = portable(raw);
      adapter.useLogger?.(this.#options.logger);
      const telemetry = await createTelemetry(this.#options.telemetry, raw.name);
      const ms = this.#options.connectTimeoutMs;
      const late = () => new ConnectionError(`${adapter.name}: connect() did not finish within ${ms} ms`);
      await withDeadline(adapter.connect(), ms, late);
      this.#telemetry = telemetry;
      if (telemetry && adapter.stats && this.#options.telemetry?.brokerGauges !== false) {
        telemetry.observeBroker(
          () =>
            [...this.#subscriptions].map((r) => ({
              source: r.sourceAddress,
              deadLetterQueue: r.deadLetterQueue,
            })),
          (source) => adapter.stats!(source),
        );
      }
      this.#adapter = adapter;
      this.#raw = raw;
      return adapter;
    })();
    this.#connecting.catch((error: unknown) => {
      this.#noteError(error);
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  // ---- sending
  async send(queue: string, body: unknown, options: SendOptions = {}): Promise<string> {
    const [id] = await this.#sendMany("queue", queue, [{ ...options, body }]);
    return id!;
  }

  async sendBatch(queue: string, items: readonly BatchItem[]): Promise<string[]> {
    if (!Array.isArray(items)) throw new ConfigError("sendBatch takes an array of { body, ...options }");
    return this.#sendMany("queue", queue, items);
  }

  async publish(topic: string, body: unknown, options: SendOptions = {}): Promise<string> {
    const [id] = await this.#sendMany("topic", topic, [{ ...options, body }]);
    return id!;
  }

  async #sendMany(kind: "queue" | "topic", name: string, items: readonly BatchItem[]): Promise<string[]> {
    validateName(kind, name);
    // Connected and open: no extra turn of the microtask queue through #ready().
    const adapter =
      this.#adapter !== undefined && this.#closing === undefined ? this.#adapter : await this.#ready();
    if (kind === "topic" && !adapter.features.fanout) {
      throw new UnsupportedFeatureError(`${adapter.name} does not support topics (features.fanout is false)`);
    }
    const op = this.#telemetry?.send({ kind, name }, items.length, false);
    try {
      const prepared =
        this.#prepareFast(adapter, kind, name, items, op) ??
        (await this.#prepareAll(adapter, kind, name, items, op));
      await this.#transmit(adapter, { kind, name }, prepared);
      op?.end();
      return prepared.map((m) => m.id);
    } catch (error) {
      op?.end(error);
      throw error;
    }
  }

  /** Send already-encoded messages, split to the adapter's batch size, tracked for close(). */
  #transmit(adapter: Adapter, address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.#closing && !this.#draining) return Promise.reject(new ClosedError("the client is closed"));
    const max = adapter.features.maxBatchSize;
    let sent: Promise<void>;
    if (messages.length <= max) {
      sent = adapter.send(address, messages);
    } else {
      const chunks: Promise<void>[] = [];
      for (let i = 0; i < messages.length; i += max)
        chunks.push(adapter.send(address, messages.slice(i, i + max)));
      sent = Promise.all(chunks).then(() => undefined);
    }
    const timeoutMs = this.#options.sendTimeoutMs;
    const promise = withDeadline(
      sent,
      timeoutMs,
      () =>
        new PublishError(
          `${adapter.name}: no confirm for ${messages.length} message(s) to ${address.kind} ${address.name} within ${timeoutMs} ms; they may or may not have been stored`,
          { retryable: true },
        ),
    );
    this.#inflightSends.add(promise);
    const untrack = () => this.#inflightSends.delete(promise);
    promise.then(untrack, (error: unknown) => {
      untrack();
      this.#noteError(error);
    });
    return promise;
  }

  /** True while close() still lets handlers send (replies, dead letters). */
  #draining = false;

  /**
   * The messages encoded at once when no middleware, contract or outbound step applies (the
   * common case, without a promise per message); `undefined` when {@link #prepareAll} must run.
   */
  #prepareFast(
    adapter: Adapter,
    kind: "queue" | "topic",
    destination: string,
    items: readonly BatchItem[],
    op: SendOp | undefined,
  ): OutboundMessage[] | undefined {
    if (this.#closing && !this.#draining) throw new ClosedError("the client is closed");
    if (this.#sendChain !== undefined || this.#outbound.length > 0) return undefined;
    if (schemaFor(this.#options.contract, kind, destination) !== undefined) return undefined;
    const out = new Array<OutboundMessage>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const options = normalise(adapter, item);
      op?.inject(i, options.id, options.headers);
      out[i] = encode(adapter, this.#options.codec, item.body, options);
    }
    return out;
  }

  async #prepareAll(
    adapter: Adapter,
    kind: "queue" | "topic",
    destination: string,
    items: readonly BatchItem[],
    op: SendOp | undefined,
  ): Promise<OutboundMessage[]> {
    if (this.#closing && !this.#draining) throw new ClosedError("the client is closed");
    const schema = schemaFor(this.#options.contract, kind, destination);
    return Promise.all(
      items.map((item, i) =>
        this.#throughMiddleware(
          adapter,
          kind,
          destination,
          item.body,
          normalise(adapter, item),
          schema,
          op,
          i,
        ),
      ),
    );
  }

  /** The client's send middleware, composed once; undefined when there is none. */
  readonly #sendChain: ((ctx: SendContext) => Promise<void>) | undefined;
  /** The `outbound` steps of the client's middleware, in `use` order. */
  readonly #outbound: readonly OutboundStep[];

  /** The encoded message after the `outbound` steps (itself when there are none), size unchecked. */
  #wire(
    adapter: Adapter,
    address: Address,
    message: OutboundMessage,
  ): Promise<OutboundMessage> | OutboundMessage {
    if (this.#outbound.length === 0) return message;
    return runOutbound(
      this.#outbound,
      this.#internals.client,
      adapter.features.maxMessageBytes,
      address,
      message,
    );
  }

  /** Run one message through the send middleware, validate it, encode it. */
  async #throughMiddleware(
    adapter: Adapter,
    kind: "queue" | "topic",
    destination: string,
    body: unknown,
    options: Normalised,
    schema: StandardSchemaV1 | undefined,
    op: SendOp | undefined,
    index: number,
    what = `${kind} ${destination}`,
  ): Promise<OutboundMessage> {
    const ctx: SendContext = { kind, destination, body, options, client: this.#internals.client };
    if (this.#sendChain) await this.#sendChain(ctx);
    const checked = schema ? await validate(schema, ctx.body, what) : ctx.body;
    op?.inject(index, options.id, options.headers);
    if (this.#outbound.length === 0) return encode(adapter, this.#options.codec, checked, options);
    const encoded = encode(adapter, this.#options.codec, checked, options, false);
    const wire = await this.#wire(adapter, { kind, name: destination }, encoded);
    checkSize(adapter, wire.body, wire.headers);
    return wire;
  }

  // ---- consuming
  async consume(queue: string, handler: Handler<any>, options: ConsumerOptions = {}): Promise<Subscription> {
    validateName("queue", queue);
    return this.#startConsumer({ kind: "queue", name: queue }, handler, options);
  }

  async subscribe(topic: string, options: SubscribeOptions, handler: Handler<any>): Promise<Subscription> {
    validateName("topic", topic);
    if (typeof options !== "object" || options === null)
      throw new ConfigError("subscribe(topic, { group }, handler)");
    validateName("group", options.group);
    const adapter = await this.#ready();
    if (!adapter.features.fanout) {
      throw new UnsupportedFeatureError(`${adapter.name} does not support topics (features.fanout is false)`);
    }
    this.#noteGroup(topic, options.group);
    return this.#startConsumer({ kind: "topic", name: topic, group: options.group }, handler, options);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    validateName("topic", topic);
    validateName("group", group);
    const adapter = await this.#ready();
    if (!adapter.features.fanout) {
      throw new UnsupportedFeatureError(`${adapter.name} does not support topics (features.fanout is false)`);
    }
    if (!adapter.ensureGroup)
      throw new UnsupportedFeatureError(
        `${adapter.name} declares fanout but has no ensureGroup(): cannot create a group ahead`,
      );
    this.#noteGroup(topic, group);
    await adapter.ensureGroup(topic, group);
  }

  #noteGroup(topic: string, group: string): void {
    let groups = this.#groups.get(topic);
    if (!groups) this.#groups.set(topic, (groups = new Set()));
    groups.add(group);
  }

  // ---- deleting
  async deleteQueue(queue: string, options: DeleteOptions = {}): Promise<void> {
    validateName("queue", queue);
    const withDlq = deadLetterOption(options);
    const adapter = await this.#ready();
    if (!adapter.deleteQueue)
      throw new UnsupportedFeatureError(
        `${adapter.name} cannot delete queues (the adapter has no deleteQueue())`,
      );
    await adapter.deleteQueue(queue);
    if (withDlq) await adapter.deleteQueue(deadLetterQueueFor({ kind: "queue", name: queue }));
  }

  async deleteTopic(topic: string, options: DeleteTopicOptions = {}): Promise<void> {
    validateName("topic", topic);
    const withDlq = deadLetterOption(options);
    const named = options.groups ?? [];
    if (!Array.isArray(named)) throw new ConfigError("deleteTopic: groups must be an array of group names");
    for (const group of named) validateName("group", group);
    const adapter = await this.#topicAdapter("deleteTopic");
    if (!adapter.deleteTopic)
      throw new UnsupportedFeatureError(
        `${adapter.name} cannot delete topics (the adapter has no deleteTopic())`,
      );
    await adapter.deleteTopic(topic);
    const groups = new Set([...(this.#groups.get(topic) ?? []), ...named]);
    this.#groups.delete(topic);
    if (withDlq && adapter.deleteQueue) {
      for (const group of groups)
        await adapter.deleteQueue(deadLetterQueueFor({ kind: "topic", name: topic, group }));
    }
  }

  async deleteGroup(topic: string, group: string, options: DeleteOptions = {}): Promise<void> {
    validateName("topic", topic);
    validateName("group", group);
    const withDlq = deadLetterOption(options);
    const adapter = await this.#topicAdapter("deleteGroup");
    if (!adapter.deleteGroup)
      throw new UnsupportedFeatureError(
        `${adapter.name} cannot delete groups (the adapter has no deleteGroup())`,
      );
    await adapter.deleteGroup(topic, group);
    this.#groups.get(topic)?.delete(group);
    if (withDlq && adapter.deleteQueue)
      await adapter.deleteQueue(deadLetterQueueFor({ kind: "topic", name: topic, group }));
  }

  async #topicAdapter(call: string): Promise<Adapter> {
    const adapter = await this.#ready();
    if (!adapter.features.fanout) {
      throw new UnsupportedFeatureError(
        `${adapter.name} does not support topics (features.fanout is false): no ${call}()`,
      );
    }
    return adapter;
  }

  async #startConsumer(
    source: Source,
    handler: Handler<any>,
    options: ConsumerOptions,
  ): Promise<Subscription> {
    if (typeof handler !== "function") throw new ConfigError("handler must be a function");
    const adapter = await this.#ready();
    const runner = new ConsumerRunner(
      runnerConfig(this.#internals, this.#options, adapter, source, handler, options),
    );
    this.#subscriptions.add(runner);
    runner.onClosed = () => this.#subscriptions.delete(runner);
    try {
      await runner.start();
    } catch (error) {
      this.#subscriptions.delete(runner);
      if (this.#closing)
        throw new ClosedError("the client closed while the consumer was starting", { cause: error });
      throw error;
    }
    if (this.#closing) {
      // close() began while the consumer started: it shuts the runner down; this call fails.
      await runner.shutdown(Date.now());
      throw new ClosedError("the client closed while the consumer was starting");
    }
    return runner;
  }

  // ---- monitoring
  async stats(destination: string, options: StatsOptions = {}): Promise<DestinationStats> {
    if (typeof options !== "object" || options === null)
      throw new ConfigError("stats options must be an object");
    const source: Source =
      options.group === undefined
        ? { kind: "queue", name: validateName("queue", destination) }
        : {
            kind: "topic",
            name: validateName("topic", destination),
            group: validateName("group", options.group),
          };
    const dlqOption = options.deadLetterQueue;
    if (dlqOption !== undefined && dlqOption !== false && typeof dlqOption !== "string")
      throw new ConfigError("deadLetterQueue must be a queue name or false");
    const dlq =
      dlqOption === false ? undefined : validateName("queue", dlqOption ?? deadLetterQueueFor(source));
    const adapter = await this.#ready();
    if (source.kind === "topic" && !adapter.features.fanout) {
      throw new UnsupportedFeatureError(`${adapter.name} does not support topics (features.fanout is false)`);
    }
    if (!adapter.stats)
      throw new UnsupportedFeatureError(
        `${adapter.name} cannot report broker state (the adapter has no stats())`,
      );
    const at = new Date();
    const [own, dead] = await Promise.all([
      adapter.stats(source),
      dlq === undefined ? undefined : adapter.stats({ kind: "queue", name: dlq }),
    ]);
    return {
      kind: source.kind,
      name: source.name,
      group: source.kind === "topic" ? source.group : undefined,
      depth: own.depth,
      inFlight: own.inFlight,
      lag: own.depth + (own.inFlight ?? 0),
      deadLetterQueue: dlq,
      deadLetters: dead === undefined ? undefined : dead.depth + (dead.inFlight ?? 0),
      at,
    };
  }

  health(): HealthReport {
    const closed = this.#closing !== undefined;
    const connected = this.#adapter !== undefined && !closed;
    const consumers = [...this.#subscriptions].map((runner) => ({
      source: runner.source,
      group: runner.group,
      running: runner.failure === undefined,
      handlersRunning: runner.handlersRunning,
      error: runner.failure,
    }));
    const status = !connected ? "down" : consumers.every((c) => c.running) ? "ok" : "degraded";
    return { status, connected, closed, adapter: this.adapterName, consumers, lastError: this.#lastError };
  }

  #lastError: HealthReport["lastError"];

  #noteError(error: unknown): void {
    this.#lastError = {
      message: redact(errorMessage(error)),
      code:
        error instanceof OmnibusError
          ? error.code
          : errorCode(error) === ErrorCode.Handler
            ? undefined
            : errorCode(error),
      at: new Date(),
    };
  }

  // ---- request-reply
  async request(queue: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
    validateName("queue", queue);
    const adapter = await this.#ready();
    const timeoutMs = positiveInt("timeoutMs", options.timeoutMs, this.#options.requestTimeoutMs);
    const schema = schemaFor(this.#options.contract, "request", queue);
    this.#requests ??= new RequestBroker(this.#internals, adapter, `${INBOX_PREFIX}${this.#clientId}`);
    const inbox = await this.#requests.inbox();
    const normalised = normalise(adapter, options);
    // A correlation id of its own: two requests given the same message id still get their own reply.
    normalised.correlationId = uuidv7();
    normalised.replyTo = inbox;
    const telemetry = this.#telemetry;
    const op = telemetry?.send({ kind: "queue", name: queue }, 1, false);
    // Requests go through the send middleware like any send (tracing, tenancy headers…).
    let message: OutboundMessage;
    try {
      message = await this.#throughMiddleware(
        adapter,
        "queue",
        queue,
        body,
        normalised,
        schema,
        op,
        0,
        `request ${queue}`,
      );
    } catch (error) {
      op?.end(error);
      throw error;
    }
    const correlationId = normalised.correlationId;
    const reply = this.#requests.expect(
      correlationId,
      timeoutMs,
      queue,
      op && telemetry
        ? (m, error) => telemetry.reply({ kind: "queue", name: inbox }, m, op.context, error)
        : undefined,
    );
    // The timer runs from now; if the send itself outlives it, the rejection is read below.
    reply.catch(() => {});
    try {
      await this.#transmit(adapter, { kind: "queue", name: queue }, [message]);
      op?.end();
    } catch (error) {
      op?.end(error);
      this.#requests.cancel(correlationId);
      throw error;
    }
    const answer = await reply;
    const responseSchema = schemaFor(this.#options.contract, "response", queue);
    return responseSchema ? validate(responseSchema, answer, `response of ${queue}`) : answer;
  }

  async reply(
    queue: string,
    handler: (message: Message<any>) => unknown,
    options: Omit<ConsumerOptions, "retry" | "deadLetterQueue"> = {},
  ): Promise<Subscription> {
    if (typeof handler !== "function") throw new ConfigError("handler must be a function");
    const adapter = await this.#ready();
    const contract = this.#options.contract;
    return this.consume(
      queue,
      replyHandler(
        {
          client: this.#internals,
          adapter,
          queue,
          codec: this.#options.codec,
          requestSchema: schemaFor(contract, "request", queue),
          responseSchema: schemaFor(contract, "response", queue),
        },
        handler,
      ),
      // Retries only if the handler's own reply path fails outright (it never throws otherwise).
      { ...options, retry: { maxAttempts: 3 } },
    );
  }

  // ---- lifecycle
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    this.#draining = true;
    const deadline = Date.now() + this.#options.closeTimeoutMs;
    await Promise.all([...this.#subscriptions].map((s) => s.shutdown(deadline)));
    await this.#requests?.close();
    await Promise.allSettled([...this.#inflightSends]);
    this.#draining = false;
    this.#telemetry?.close();
    const adapter = this.#adapter ?? (await this.#connecting?.catch(() => undefined));
    const ms = this.#options.closeTimeoutMs;
    await withDeadline(
      adapter?.close() ?? Promise.resolve(),
      ms,
      () => new Error(`not done within ${ms} ms`),
    ).catch((error: unknown) =>
      this.logger.warn(`${adapter?.name}: close() failed; giving up on it`, { error: errorMessage(error) }),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The `deadLetterQueue` option of a delete call: `true` unless `false` (`ConfigError` otherwise). */
function deadLetterOption(options: DeleteOptions): boolean {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("delete options must be an object");
  const value = options.deadLetterQueue ?? true;
  if (typeof value !== "boolean") throw new ConfigError("deadLetterQueue must be true or false");
  return value;
}
