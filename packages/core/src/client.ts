import { builtinCodecs, type Codec, CodecRegistry, jsonCodec } from "./codec.js";
import { compose } from "./compose.js";
import { type Contract, isStandardSchema } from "./contract.js";
import {
  ClosedError,
  ConfigError,
  ConnectionError,
  DeadLetterError,
  DecodeError,
  MessageTooLargeError,
  PublishError,
  RemoteError,
  RequestTimeoutError,
  RetryLaterError,
  UnsupportedFeatureError,
  ValidationError,
} from "./errors.js";
import { shortId, uuidv7 } from "./ids.js";
import { consoleLogger, type Logger } from "./logger.js";
import { deadLetterQueueFor, validateName } from "./names.js";
import { deadLetterHeaders, errorCode, errorMessage, headerBytes } from "./outcome.js";
import { adapterFromUrl, adapterFromUrlNow, urlScheme } from "./resolve.js";
import { backoffDelay, type RetryPolicy, resolveRetryPolicy } from "./retry.js";
import type { Adapter, Address, ConsumerHandle, Delivery, Features, OutboundMessage, Source } from "./spi.js";
import {
  type BatchItem,
  type Client,
  type ClientOptions,
  type ConsumeContext,
  type ConsumerOptions,
  type Handler,
  HeaderNames,
  type Message,
  type Middleware,
  type RequestOptions,
  type SendContext,
  type SendOptions,
  type SubscribeOptions,
  type Subscription,
} from "./types.js";

const DEFAULT_CONCURRENCY = 16;

/** Header names starting with this are core's own (content type, dead-letter and reply data). */
const RESERVED_PREFIX = "omnibus-";

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

interface ResolvedOptions {
  readonly codec: Codec<any>;
  readonly codecs: CodecRegistry;
  readonly use: readonly Middleware[];
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  readonly prefetch: number | undefined;
  readonly closeTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly contract: Contract | undefined;
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function resolveOptions(options: ClientOptions<any>): ResolvedOptions {
  const codec = options.codec ?? jsonCodec;
  return {
    codec,
    codecs: new CodecRegistry([...builtinCodecs, ...(options.codecs ?? []), codec]),
    use: options.use ?? [],
    logger: options.logger ?? consoleLogger("warn"),
    retry: resolveRetryPolicy(options.retry),
    concurrency: positiveInt("consumer.concurrency", options.consumer?.concurrency, DEFAULT_CONCURRENCY),
    prefetch:
      options.consumer?.prefetch === undefined
        ? undefined
        : positiveInt("consumer.prefetch", options.consumer.prefetch, 1),
    closeTimeoutMs: positiveInt("closeTimeoutMs", options.closeTimeoutMs, 10_000),
    requestTimeoutMs: positiveInt("requestTimeoutMs", options.requestTimeoutMs, 5_000),
    sendTimeoutMs: positiveInt("sendTimeoutMs", options.sendTimeoutMs, 30_000),
    connectTimeoutMs: positiveInt("connectTimeoutMs", options.connectTimeoutMs, 30_000),
    contract: options.contract,
  };
}

type Prepared = OutboundMessage;

class OmnibusClient<C extends Contract> implements AsyncDisposable {
  readonly #options: ResolvedOptions;
  readonly #adapterSource: () => Promise<Adapter>;
  #adapter: Adapter | undefined;
  #adapterName: string;
  #connecting: Promise<Adapter> | undefined;
  #closing: Promise<void> | undefined;
  readonly #subscriptions = new Set<ConsumerRunner>();
  readonly #inflightSends = new Set<Promise<unknown>>();
  #requests: RequestBroker | undefined;
  readonly #clientId = shortId();

  constructor(options: ClientOptions<C>) {
    this.#options = resolveOptions(options);
    const steps = this.#options.use.filter((m) => m.send).map((m) => m.send!.bind(m));
    this.#sendChain = steps.length === 0 ? undefined : compose<SendContext>(steps, async () => {});
    if (options.adapter) {
      const adapter = options.adapter;
      this.#adapterName = adapter.name;
      this.#adapterSource = async () => adapter;
    } else {
      const url = options.url ?? "memory://";
      const extra = options.adapters ?? {};
      const scheme = urlScheme(url, extra); // throws ConfigError now for a bad URL
      this.#adapterName = scheme;
      // With the adapter's module at hand (registered or given), its fromUrl checks the URL and
      // options now; otherwise at the first connect, once the module is loaded.
      const now = adapterFromUrlNow(url, options.adapterOptions, extra);
      this.#adapterSource = now ? async () => now : () => adapterFromUrl(url, options.adapterOptions, extra);
    }
  }

  get adapterName(): string {
    return this.#adapter?.name ?? this.#adapterName;
  }

  get adapter(): Adapter {
    if (!this.#adapter)
      throw new ConfigError("the client is not connected yet: await client.connect() first");
    return this.#adapter;
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
      const adapter = await this.#adapterSource();
      adapter.useLogger?.(this.#options.logger);
      await withDeadline(
        adapter.connect(),
        this.#options.connectTimeoutMs,
        () =>
          new ConnectionError(
            `${adapter.name}: connect() did not finish within ${this.#options.connectTimeoutMs} ms`,
          ),
      );
      this.#adapter = adapter;
      return adapter;
    })();
    this.#connecting.catch(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  // ---------------------------------------------------------------- sending

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
    const adapter = await this.#ready();
    if (kind === "topic" && !adapter.features.fanout) {
      throw new UnsupportedFeatureError(`${adapter.name} does not support topics (features.fanout is false)`);
    }
    const prepared = await this.#prepareAll(adapter, kind, name, items);
    await this.#transmit(adapter, { kind, name }, prepared);
    return prepared.map((m) => m.id);
  }

  /** Send already-encoded messages, split to the adapter's batch size, tracked for close(). */
  #transmit(adapter: Adapter, address: Address, messages: readonly Prepared[]): Promise<void> {
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
    promise.then(untrack, untrack);
    return promise;
  }

  /** True while close() still lets handlers send (replies, dead letters). */
  #draining = false;

  async #prepareAll(
    adapter: Adapter,
    kind: "queue" | "topic",
    destination: string,
    items: readonly BatchItem[],
  ): Promise<Prepared[]> {
    if (this.#closing && !this.#draining) throw new ClosedError("the client is closed");
    const schema = this.#schemaFor(kind, destination, "send");
    if (this.#sendChain === undefined && schema === undefined) {
      return items.map((item) => this.#encode(adapter, item.body, this.#normalise(adapter, item)));
    }
    return Promise.all(
      items.map((item) =>
        this.#throughMiddleware(
          adapter,
          kind,
          destination,
          item.body,
          this.#normalise(adapter, item),
          schema,
        ),
      ),
    );
  }

  /** The client's send middleware, composed once; undefined when there is none. */
  readonly #sendChain: ((ctx: SendContext) => Promise<void>) | undefined;

  /** Run one message through the send middleware, validate it, encode it. */
  async #throughMiddleware(
    adapter: Adapter,
    kind: "queue" | "topic",
    destination: string,
    body: unknown,
    options: SendOptions & { id: string; headers: Record<string, string> },
    schema: import("@standard-schema/spec").StandardSchemaV1 | undefined,
    what = `${kind} ${destination}`,
  ): Promise<Prepared> {
    const ctx: SendContext = { kind, destination, body, options, client: this as any };
    if (this.#sendChain) await this.#sendChain(ctx);
    const checked = schema ? await validate(schema, ctx.body, what) : ctx.body;
    return this.#encode(adapter, checked, options);
  }

  #normalise(
    adapter: Adapter,
    item: SendOptions,
    internal = false,
  ): SendOptions & { id: string; headers: Record<string, string> } {
    const headers: Record<string, string> = {};
    if (item.headers !== undefined) {
      if (typeof item.headers !== "object" || item.headers === null)
        throw new ConfigError("headers must be an object");
      for (const [k, v] of Object.entries(item.headers)) {
        if (typeof v !== "string")
          throw new ConfigError(`header ${JSON.stringify(k)} must be a string, got ${typeof v}`);
        if (!internal && k.length >= 8 && k.slice(0, 8).toLowerCase() === RESERVED_PREFIX) {
          throw new ConfigError(
            `header ${JSON.stringify(k)}: names starting with "${RESERVED_PREFIX}" are reserved for Omnibus`,
          );
        }
        headers[k] = v;
      }
    }
    const { features } = adapter;
    if (item.delayMs !== undefined && item.delayMs !== 0) {
      if (typeof item.delayMs !== "number" || !(item.delayMs > 0)) {
        throw new ConfigError(`delayMs must be a positive number, got ${String(item.delayMs)}`);
      }
      if (!features.delay)
        throw new UnsupportedFeatureError(`${adapter.name} does not support delayed delivery`);
      if (item.delayMs > features.maxDelayMs) {
        throw new UnsupportedFeatureError(
          `${adapter.name} delays messages by at most ${features.maxDelayMs} ms, asked for ${item.delayMs}`,
        );
      }
    }
    if (item.priority !== undefined) {
      if (!features.priority)
        throw new UnsupportedFeatureError(`${adapter.name} does not support priorities`);
      if (!Number.isInteger(item.priority) || item.priority < 0 || item.priority > features.maxPriority) {
        throw new ConfigError(
          `priority must be an integer within 0..${features.maxPriority}, got ${item.priority}`,
        );
      }
    }
    if (item.id !== undefined && (typeof item.id !== "string" || item.id.length === 0)) {
      throw new ConfigError("id must be a non-empty string");
    }
    const normalised = item as SendOptions & { id: string; headers: Record<string, string> };
    return {
      id: item.id ?? uuidv7(),
      headers,
      key: normalised.key,
      correlationId: normalised.correlationId,
      replyTo: normalised.replyTo,
      delayMs: normalised.delayMs,
      priority: normalised.priority,
      codec: normalised.codec,
    } as SendOptions & { id: string; headers: Record<string, string> };
  }

  #encode(
    adapter: Adapter,
    body: unknown,
    options: SendOptions & { id: string; headers: Record<string, string> },
  ): Prepared {
    const codec = options.codec ?? this.#options.codec;
    let bytes: Uint8Array;
    try {
      bytes = codec.encode(body);
    } catch (error) {
      throw new ConfigError(`cannot encode body as ${codec.contentType}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // JSON is the wire default: no header for it (one header less per message on every broker).
    if (codec.contentType !== jsonCodec.contentType)
      options.headers[HeaderNames.ContentType] = codec.contentType;
    checkSize(adapter, bytes, options.headers);
    return {
      id: options.id,
      body: bytes,
      headers: options.headers,
      key: options.key,
      correlationId: options.correlationId,
      replyTo: options.replyTo,
      timestamp: Date.now(),
      delayMs: options.delayMs || undefined,
      priority: options.priority,
    };
  }

  /**
   * The run-time schema of a destination. A dead-letter queue (`<queue>.dlq`) is typed like its
   * queue but never validated: it holds, among others, the messages that failed that schema.
   */
  #schemaFor(kind: "queue" | "topic" | "request" | "response", name: string, _why: string) {
    const contract = this.#options.contract;
    if (!contract) return undefined;
    let spec: unknown;
    if (kind === "queue") spec = contract.queues?.[name];
    else if (kind === "topic") spec = contract.topics?.[name];
    else spec = contract.requests?.[name]?.[kind];
    return isStandardSchema(spec) ? spec : undefined;
  }

  // ---------------------------------------------------------------- consuming

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
    return this.#startConsumer({ kind: "topic", name: topic, group: options.group }, handler, options);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    validateName("topic", topic);
    validateName("group", group);
    const adapter = await this.#ready();
    if (!adapter.features.fanout) {
      throw new UnsupportedFeatureError(`${adapter.name} does not support topics (features.fanout is false)`);
    }
    await adapter.ensureGroup?.(topic, group);
  }

  async #startConsumer(
    source: Source,
    handler: Handler<any>,
    options: ConsumerOptions,
  ): Promise<Subscription> {
    if (typeof handler !== "function") throw new ConfigError("handler must be a function");
    const adapter = await this.#ready();
    const concurrency = positiveInt("concurrency", options.concurrency, this.#options.concurrency);
    const prefetch = positiveInt(
      "prefetch",
      options.prefetch,
      this.#options.prefetch ?? Math.max(256, concurrency * 8),
    );
    const retry = options.retry
      ? resolveRetryPolicy({ ...this.#options.retry, ...options.retry })
      : this.#options.retry;
    const dlq = options.deadLetterQueue ?? deadLetterQueueFor(source);
    validateName("queue", dlq);
    const middleware = [...this.#options.use, ...(options.use ?? [])].filter((m) => m.consume);
    const runner = new ConsumerRunner({
      client: this,
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
      orderByKey: options.orderByKey ?? true,
      startTimeoutMs: this.#options.connectTimeoutMs,
      codec: options.codec,
      schema: this.#schemaFor(source.kind, source.name, "consume"),
    });
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

  /** Used by consumers: decode with the content type's codec. */
  decode(headers: Readonly<Record<string, string>>, bytes: Uint8Array): unknown {
    return this.#options.codecs.decode(headers[HeaderNames.ContentType], bytes, jsonCodec);
  }

  /** Used by consumers: dead-letter and reply sends bypass middleware and validation. */
  sendPrepared(adapter: Adapter, address: Address, message: Prepared): Promise<void> {
    try {
      checkSize(adapter, message.body, message.headers);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#transmit(adapter, address, [message]);
  }

  get closeTimeoutMs(): number {
    return this.#options.closeTimeoutMs;
  }

  // ---------------------------------------------------------------- request-reply

  async request(queue: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
    validateName("queue", queue);
    const adapter = await this.#ready();
    const timeoutMs = positiveInt("timeoutMs", options.timeoutMs, this.#options.requestTimeoutMs);
    const schema = this.#schemaFor("request", queue, "send");
    this.#requests ??= new RequestBroker(this, adapter, `${INBOX_PREFIX}${this.#clientId}`);
    const inbox = await this.#requests.inbox();
    const normalised = this.#normalise(adapter, options);
    // A correlation id of its own: two requests given the same message id still get their own reply.
    normalised.correlationId = uuidv7();
    normalised.replyTo = inbox;
    // Requests go through the send middleware like any send (tracing, tenancy headers…).
    const message = await this.#throughMiddleware(
      adapter,
      "queue",
      queue,
      body,
      normalised,
      schema,
      `request ${queue}`,
    );
    const correlationId = normalised.correlationId;
    const reply = this.#requests.expect(correlationId, timeoutMs, queue);
    // The timer runs from now; if the send itself outlives it, the rejection is read below.
    reply.catch(() => {});
    try {
      await this.#transmit(adapter, { kind: "queue", name: queue }, [message]);
    } catch (error) {
      this.#requests.cancel(correlationId);
      throw error;
    }
    const answer = await reply;
    const responseSchema = this.#schemaFor("response", queue, "consume");
    return responseSchema ? validate(responseSchema, answer, `response of ${queue}`) : answer;
  }

  async reply(
    queue: string,
    handler: (message: Message<any>) => unknown,
    options: Omit<ConsumerOptions, "retry" | "deadLetterQueue"> = {},
  ): Promise<Subscription> {
    if (typeof handler !== "function") throw new ConfigError("handler must be a function");
    const adapter = await this.#ready();
    const responseSchema = this.#schemaFor("response", queue, "send");
    const requestSchema = this.#schemaFor("request", queue, "consume");
    return this.consume(
      queue,
      async (message) => {
        const headers: Record<string, string> = {};
        let result: unknown;
        try {
          const input = requestSchema
            ? await validate(requestSchema, message.body, `request ${queue}`)
            : message.body;
          result = await handler({ ...message, body: input });
          if (responseSchema) result = await validate(responseSchema, result, `response of ${queue}`);
          headers[HeaderNames.ReplyStatus] = "ok";
        } catch (error) {
          result = undefined;
          headers[HeaderNames.ReplyStatus] = "error";
          headers[HeaderNames.ReplyErrorCode] = errorCode(error);
          headers[HeaderNames.ReplyErrorMessage] = errorMessage(error);
        }
        if (message.replyTo === undefined) return; // fire-and-forget request
        const options = this.#normalise(
          adapter,
          { headers, correlationId: message.correlationId ?? message.id },
          true,
        );
        const reply = this.#encode(adapter, result, options);
        // The handler ran: a reply that cannot be delivered (the requester gave up and its inbox
        // is gone) is dropped after one more try, never a reason to run the handler again.
        for (let attempt = 1; ; attempt++) {
          try {
            await this.sendPrepared(adapter, { kind: "queue", name: message.replyTo }, reply);
            return;
          } catch (error) {
            if (attempt >= 2 || this.#closing) {
              this.logger.warn(`reply to ${message.replyTo} could not be sent; dropped`, {
                id: message.id,
                error: errorMessage(error),
              });
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      },
      { ...options, retry: { maxAttempts: 3 } },
    );
  }

  // ---------------------------------------------------------------- lifecycle

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
    const adapter = this.#adapter ?? (await this.#connecting?.catch(() => undefined));
    if (adapter) {
      const closed = await withDeadline(
        adapter.close(),
        this.#options.closeTimeoutMs,
        () => new Error("timeout"),
      ).then(
        () => true,
        (error: unknown) => {
          this.logger.warn(
            `${adapter.name}: close() did not finish within ${this.#options.closeTimeoutMs} ms; giving up on it`,
            {
              error: errorMessage(error),
            },
          );
          return false;
        },
      );
      void closed;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Every message core hands an adapter is within its `maxMessageBytes` (body + header names and values). */
function checkSize(adapter: Adapter, body: Uint8Array, headers: Readonly<Record<string, string>>): void {
  const max = adapter.features.maxMessageBytes;
  // Exact UTF-8 sizes only when an upper bound (3 bytes per UTF-16 unit) could pass the limit.
  if (body.byteLength + 3 * headerChars(headers) <= max) return;
  const size = body.byteLength + headerBytes(headers);
  if (size > max) {
    throw new MessageTooLargeError(
      `message of ${size} bytes exceeds ${adapter.name}'s limit of ${max} bytes`,
    );
  }
}

/** `promise`, or a rejection with `timeout()` after `ms` (the promise itself keeps running). */
function withDeadline<T>(promise: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}

function headerChars(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const k in headers) n += k.length + headers[k]!.length;
  return n;
}

async function validate(
  schema: import("@standard-schema/spec").StandardSchemaV1,
  value: unknown,
  what: string,
) {
  let result = schema["~standard"].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    const detail = result.issues
      .slice(0, 5)
      .map(
        (i) =>
          `${i.path?.map((p) => (typeof p === "object" ? p.key : p)).join(".") || "(root)"}: ${i.message}`,
      )
      .join("; ");
    throw new ValidationError(`body of ${what} does not match its schema: ${detail}`, {
      cause: result.issues,
    });
  }
  return result.value;
}

function decodeWith(codec: Codec<any>, bytes: Uint8Array): unknown {
  try {
    return codec.decode(bytes);
  } catch (error) {
    throw new DecodeError(`body is not valid ${codec.contentType}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

// ---------------------------------------------------------------------------------------------

interface RunnerConfig {
  client: OmnibusClient<any>;
  adapter: Adapter;
  source: Source;
  handler: Handler<any>;
  concurrency: number;
  prefetch: number;
  retry: RetryPolicy;
  dlq: string;
  chain: (ctx: ConsumeContext) => Promise<void>;
  hasMiddleware: boolean;
  orderByKey: boolean;
  startTimeoutMs: number;
  schema: import("@standard-schema/spec").StandardSchemaV1 | undefined;
  codec: Codec<any> | undefined;
}

/** Runs one consumer: bounded concurrency, decode, middleware, handler, settle, retry, DLQ. */
class ConsumerRunner implements Subscription {
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
        this.#c.client.logger.error(`consumer of ${describe(this.#c.source)} failed`, { error });
      },
    });
    const ms = this.#c.startTimeoutMs;
    try {
      this.#handle = await withDeadline(
        starting,
        ms,
        () =>
          new ConnectionError(
            `${this.#c.adapter.name}: the consumer of ${describe(this.#c.source)} did not start within ${ms} ms`,
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
    void this.#process(delivery)
      .catch((error: unknown) => this.#unexpected(delivery, error))
      .finally(() => {
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
      });
  }

  /** A failure of core's own path (never of the handler, whose errors are outcomes): nack. */
  #unexpected(delivery: Delivery, error: unknown): Promise<void> {
    this.#c.client.logger.error(
      `consumer of ${describe(this.#c.source)} failed on a message; it will be redelivered`,
      {
        id: delivery.message.id,
        error: errorMessage(error),
      },
    );
    return settle(this.#c.client.logger, "nack", () => delivery.nack({ delayMs: 1000 }));
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
    void settlement.finally(() => {
      this.#settling--;
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  async #process(delivery: Delivery): Promise<void> {
    const inbound = delivery.message;
    const { retry, client } = this.#c;
    if (inbound.attempt > retry.maxAttempts) {
      return this.#deadLetter(
        delivery,
        new DeadLetterError(`delivered ${inbound.attempt} times (max ${retry.maxAttempts})`),
      );
    }
    let message: Message;
    try {
      let body = this.#c.codec
        ? decodeWith(this.#c.codec, inbound.body)
        : client.decode(inbound.headers, inbound.body);
      if (this.#c.schema) body = await validate(this.#c.schema, body, describe(this.#c.source));
      message = {
        id: inbound.id,
        body,
        headers: inbound.headers,
        key: inbound.key,
        correlationId: inbound.correlationId,
        replyTo: inbound.replyTo,
        timestamp: new Date(inbound.timestamp),
        attempt: inbound.attempt,
        source: this.#c.source.name,
        group: this.#c.source.kind === "topic" ? this.#c.source.group : undefined,
        rawBody: inbound.body,
        native: inbound.native,
      };
    } catch (error) {
      return this.#deadLetter(delivery, error);
    }
    try {
      if (this.#c.hasMiddleware) {
        await this.#c.chain({ message, kind: this.#c.source.kind, client: client as any, state: {} });
      } else {
        await this.#c.handler(message);
      }
    } catch (error) {
      return this.#failed(delivery, error);
    }
    this.#background(settle(client.logger, "ack", () => delivery.ack()));
  }

  async #failed(delivery: Delivery, error: unknown): Promise<void> {
    const { attempt } = delivery.message;
    const { retry, client } = this.#c;
    if (
      error instanceof DeadLetterError ||
      error instanceof DecodeError ||
      error instanceof ValidationError
    ) {
      return this.#deadLetter(delivery, error);
    }
    if (error instanceof RetryLaterError) {
      return this.#background(settle(client.logger, "nack", () => delivery.nack({ delayMs: error.delayMs })));
    }
    if (attempt >= retry.maxAttempts) return this.#deadLetter(delivery, error);
    const delayMs = backoffDelay(retry, attempt);
    client.logger.debug(`handler failed on ${describe(this.#c.source)}; retrying`, {
      id: delivery.message.id,
      attempt,
      delayMs,
      error: errorMessage(error),
    });
    this.#background(settle(client.logger, "nack", () => delivery.nack({ delayMs })));
  }

  async #deadLetter(delivery: Delivery, error: unknown): Promise<void> {
    const m = delivery.message;
    const { client, adapter, dlq } = this.#c;
    // As many dead-letter headers as fit the adapter's limit with the message: a message near
    // the limit is still dead-lettered (with fewer headers), never retried forever.
    const headers = deadLetterHeaders(
      m.headers,
      m.body.byteLength,
      { error, attempts: m.attempt, origin: describe(this.#c.source), at: new Date() },
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
      );
    } catch (sendError) {
      client.logger.error(`could not dead-letter message to ${dlq}; it will be redelivered`, {
        id: m.id,
        error: sendError,
      });
      return settle(client.logger, "nack", () => delivery.nack({ delayMs: 1000 }));
    }
    client.logger.warn(`dead-lettered message from ${describe(this.#c.source)} to ${dlq}`, {
      id: m.id,
      attempt: m.attempt,
      reason: errorMessage(error),
    });
    await settle(client.logger, "ack", () => delivery.ack());
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
            `closing ${describe(this.#c.source)} with ${this.#running} handler(s) still running; their messages will be redelivered`,
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

async function settle(logger: Logger, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    // The broker redelivers an unsettled message; nothing is lost, at worst it is duplicated.
    logger.warn(`${what} failed; the message will be redelivered`, { error });
  }
}

function describe(source: Source): string {
  return source.kind === "queue" ? `queue:${source.name}` : `topic:${source.name}/${source.group}`;
}

// ---------------------------------------------------------------------------------------------

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Request-reply over an ephemeral inbox queue per client. */
class RequestBroker {
  readonly #client: OmnibusClient<any>;
  readonly #adapter: Adapter;
  readonly #name: string;
  readonly #pending = new Map<string, Pending>();
  #started: Promise<ConsumerHandle> | undefined;
  #closed = false;

  constructor(client: OmnibusClient<any>, adapter: Adapter, name: string) {
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
    this.#client.logger.error("request inbox consumer failed; the next request opens a new one", { error });
    if (this.#started === inbox) this.#started = undefined;
    void inbox.then((handle) => handle.close()).catch(() => {});
    for (const [id, pending] of this.#pending) {
      this.cancel(id);
      pending.reject(
        new ConnectionError("the request inbox was lost before the reply arrived", { cause: error }),
      );
    }
  }

  expect(id: string, timeoutMs: number, queue: string): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ClosedError("the client is closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RequestTimeoutError(`no reply from ${queue} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }

  cancel(id: string): void {
    const pending = this.#pending.get(id);
    if (pending) clearTimeout(pending.timer);
    this.#pending.delete(id);
  }

  #onReply(delivery: Delivery): void {
    void delivery.ack().catch(() => {});
    const m = delivery.message;
    const id = m.correlationId;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending) return; // late reply after a timeout, or a duplicate
    this.cancel(id!);
    if (m.headers[HeaderNames.ReplyStatus] === "error") {
      pending.reject(
        new RemoteError(
          m.headers[HeaderNames.ReplyErrorMessage] ?? "unknown error",
          m.headers[HeaderNames.ReplyErrorCode],
        ),
      );
      return;
    }
    try {
      pending.resolve(this.#client.decode(m.headers, m.body));
    } catch (error) {
      pending.reject(error as Error);
    }
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
