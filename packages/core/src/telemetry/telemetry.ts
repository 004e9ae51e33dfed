/**
 * Traces and metrics through `@opentelemetry/api` only, following the OpenTelemetry messaging
 * semantic conventions **v1.30.0** (still "Development" there: {@link SEMCONV_VERSION}).
 *
 * - A PRODUCER span per send, `send {destination}`; a batch gets one `send` span (CLIENT) linked
 *   to a `create {destination}` span (PRODUCER) per message, whose context the message carries.
 * - A CONSUMER span per handled message, `process {destination}`, linked to the producer's context
 *   found in the message headers (W3C `traceparent`/`tracestate`), or its child with
 *   `consumerContext: "parent"`. The handler runs in it; its outcome is an event (`ack`, `nack`,
 *   `dead_letter`), and sends made from it (replies, dead-letter copies) are its children.
 * - A request's reply is a `process` span, child of the request's `send` span and linked to the
 *   replier's `send` span: request → process → reply → back, end to end.
 * - Metrics: `messaging.client.operation.duration`, `messaging.client.sent.messages`,
 *   `messaging.client.consumed.messages`, `messaging.process.duration`, and Omnibus's own
 *   `omnibus.messages.retried`, `omnibus.messages.dead_lettered`, `omnibus.handlers.active`, and
 *   the broker gauges `omnibus.queue.depth`, `omnibus.queue.in_flight`, `omnibus.consumer.lag`,
 *   `omnibus.dead_letter.depth` read from `stats()` for this client's consumers.
 *
 * Without `@opentelemetry/api` installed, or with `telemetry: { enabled: false }`, nothing here
 * runs: every hook is `undefined` and the paths skip it.
 * @module
 */
import type {
  Attributes,
  BatchObservableResult,
  Context,
  Counter,
  Histogram,
  Link,
  Meter,
  Observable,
  Span,
  Tracer,
  UpDownCounter,
} from "@opentelemetry/api";
import { errorCode } from "../consumer/outcome.js";
import { OmnibusError } from "../errors.js";
import type { Address, InboundMessage, Source, SourceStats } from "../spi.js";
import type { TelemetryOptions } from "../types.js";
import { loadOTel, type OTelApi } from "./api.js";
import { extract, inject } from "./w3c.js";

/** The version of the OpenTelemetry semantic conventions the spans and metrics follow. */
export const SEMCONV_VERSION = "1.30.0";

const SCOPE = "@omnibus/core";

/** `messaging.system` of each adapter: the conventions' value where it has one. */
const SYSTEMS: Record<string, string> = { sqs: "aws_sqs", pubsub: "gcp_pubsub" };

/** Request-reply inboxes are temporary: spans and metrics name them by this template. */
const INBOX_TEMPLATE = "omnibus.inbox.{client}";

/** Histogram boundaries the conventions recommend for durations in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** `error.type` of a failure: an OmnibusError's or the error's own code, else its class name. */
export function errorType(error: unknown): string {
  if (error instanceof OmnibusError) return error.code;
  const code = errorCode(error);
  if (code !== "OMNIBUS_HANDLER") return code;
  const name = (error as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === "string" && name.length > 0 && name !== "Object" ? name : "_OTHER";
}

/** Marks `span` failed by `error` (its type, the exception, an error status); returns the type. */
function failSpan(api: OTelApi, span: Span, error: unknown): string {
  const type = errorType(error);
  span.setAttribute("error.type", type);
  span.recordException(error as Error);
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: (error as Error)?.message });
  return type;
}

/** What the client's sends do with telemetry: one per `send`/`sendBatch`/`publish`/request/reply. */
export interface SendOp {
  /** Carry the context of message `index` in `headers` (before encoding: they count in its size). */
  inject(index: number, id: string, headers: Record<string, string>): void;
  /** The send finished (`error` when it failed). */
  end(error?: unknown): void;
  /** The context of the send span (the parent of what follows it, e.g. a reply's process span). */
  readonly context: Context;
}

/** What a consumer does with telemetry for one delivery. */
export interface ProcessOp {
  /** The span records or carries a valid context (false with the API's no-op tracer). */
  readonly live: boolean;
  /** Run the handler (and middleware) inside the process span's context. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** The context of the process span (sends from the handler become its children). */
  readonly context: Context;
  /** How the delivery was settled; ends the span and records the metrics. */
  end(outcome: "ack" | "nack" | "dead_letter", error?: unknown, delayMs?: number): void;
}

/** The broker gauges read one source each: a consumer's source and its dead-letter queue. */
export interface GaugeSource {
  readonly source: Source;
  readonly deadLetterQueue: string;
}

/** What a send does with no SDK registered: nothing. */
const INERT_SEND: SendOp = { context: undefined as unknown as Context, inject() {}, end() {} };

/** What handling a message does with no SDK registered: runs the handler. */
const INERT_PROCESS: ProcessOp = {
  context: undefined as unknown as Context,
  live: false,
  run: (fn) => fn(),
  end() {},
};

/**
 * A client's telemetry: tracer, meter and instruments, created once. `undefined` everywhere when
 * telemetry is off (see {@link createTelemetry}).
 */
export class Telemetry {
  readonly #api: OTelApi;
  readonly #tracer: Tracer;
  readonly #meter: Meter;
  readonly #system: string;
  readonly #parent: boolean;
  readonly #duration: Histogram;
  readonly #sent: Counter;
  readonly #consumed: Counter;
  readonly #process: Histogram;
  readonly #retried: Counter;
  readonly #deadLettered: Counter;
  readonly #active: UpDownCounter;
  /** False when the meter is the API's no-op one (no SDK registered): no metric is built. */
  readonly #metrics: boolean;
  /**
   * The global tracer provider while it has no SDK behind it (the API's proxy with its no-op
   * delegate): checked per operation, since an SDK may register later.
   */
  readonly #proxy: { getDelegate(): unknown } | undefined;
  readonly #noopDelegate: unknown;
  /** Process contexts of the messages being handled (replies look theirs up). */
  readonly #contexts = new WeakMap<object, Context>();
  #gauges: { observables: Observable[]; callback: (r: BatchObservableResult) => Promise<void> } | undefined;

  constructor(api: OTelApi, options: TelemetryOptions, adapterName: string) {
    this.#api = api;
    const tracerProvider =
      (options.tracerProvider as ReturnType<OTelApi["trace"]["getTracerProvider"]>) ?? api.trace;
    const global = options.tracerProvider === undefined ? api.trace.getTracerProvider() : undefined;
    if (global instanceof api.ProxyTracerProvider && typeof global.getDelegate === "function") {
      this.#proxy = global;
      this.#noopDelegate = new api.ProxyTracerProvider().getDelegate();
    }
    const meterProvider =
      (options.meterProvider as ReturnType<OTelApi["metrics"]["getMeterProvider"]>) ?? api.metrics;
    this.#tracer = tracerProvider.getTracer(SCOPE);
    this.#meter = meterProvider.getMeter(SCOPE);
    this.#system = SYSTEMS[adapterName] ?? adapterName;
    this.#parent = options.consumerContext === "parent";
    const m = this.#meter;
    const noop = typeof api.createNoopMeter === "function" ? api.createNoopMeter() : undefined;
    this.#metrics = !(noop && m.constructor === noop.constructor);
    const seconds = { unit: "s", advice: { explicitBucketBoundaries: DURATION_BUCKETS } };
    this.#duration = m.createHistogram("messaging.client.operation.duration", {
      description: "Duration of messaging operation initiated by a producer or consumer client.",
      ...seconds,
    });
    this.#sent = m.createCounter("messaging.client.sent.messages", {
      description: "Number of messages producer attempted to send to the broker.",
      unit: "{message}",
    });
    this.#consumed = m.createCounter("messaging.client.consumed.messages", {
      description: "Number of messages that were delivered to the application.",
      unit: "{message}",
    });
    this.#process = m.createHistogram("messaging.process.duration", {
      description: "Duration of processing operation.",
      ...seconds,
    });
    this.#retried = m.createCounter("omnibus.messages.retried", {
      description: "Messages put back for another attempt after their handler failed.",
      unit: "{message}",
    });
    this.#deadLettered = m.createCounter("omnibus.messages.dead_lettered", {
      description: "Messages sent to a dead-letter queue.",
      unit: "{message}",
    });
    this.#active = m.createUpDownCounter("omnibus.handlers.active", {
      description: "Handlers running now.",
      unit: "{handler}",
    });
  }

  #destination(address: { kind: string; name: string }, temporary: boolean): Attributes {
    const attributes: Attributes = { "messaging.system": this.#system };
    if (temporary) {
      attributes["messaging.destination.template"] = INBOX_TEMPLATE;
      attributes["messaging.destination.temporary"] = true;
    } else {
      attributes["messaging.destination.name"] = address.name;
    }
    return attributes;
  }

  /**
   * Start the telemetry of one send of `count` messages to `address`, as a child of `parent` (the
   * active context by default). `temporary` for a request-reply inbox.
   */
  send(address: Address, count: number, temporary: boolean, parent?: Context): SendOp {
    if (!this.#metrics && this.#inert()) return INERT_SEND;
    const api = this.#api;
    const shown = temporary ? INBOX_TEMPLATE : address.name;
    const base = this.#destination(address, temporary);
    const started = performance.now();
    const at = parent ?? api.context.active();
    const single = count === 1;
    const span = this.#tracer.startSpan(
      `send ${shown}`,
      { kind: single ? api.SpanKind.PRODUCER : api.SpanKind.CLIENT },
      at,
    );
    const recording = span.isRecording();
    // The API's no-op tracer: nothing to record, no context to carry.
    const live = recording || api.trace.isSpanContextValid(span.spanContext());
    if (recording) {
      span.setAttributes({
        ...base,
        "messaging.operation.type": "send",
        "messaging.operation.name": address.kind === "topic" ? "publish" : "send",
        ...(single ? {} : { "messaging.batch.message_count": count }),
      });
    }
    const context = api.trace.setSpan(at, span);
    const creates: Span[] = [];
    return {
      context,
      inject: (_index, id, headers) => {
        if (!live) return;
        if (single) {
          span.setAttribute("messaging.message.id", id);
          inject(api, context, headers);
          return;
        }
        const create = this.#tracer.startSpan(
          `create ${shown}`,
          {
            kind: api.SpanKind.PRODUCER,
            attributes: {
              ...base,
              "messaging.operation.type": "create",
              "messaging.operation.name": "create",
              "messaging.message.id": id,
            },
          },
          at,
        );
        creates.push(create);
        inject(api, api.trace.setSpan(at, create), headers);
      },
      end: (error) => {
        if (!live && !this.#metrics) return;
        for (const create of creates) {
          span.addLink({ context: create.spanContext() });
          create.end();
        }
        const attributes: Attributes = {
          ...base,
          "messaging.operation.name": address.kind === "topic" ? "publish" : "send",
        };
        if (error !== undefined) attributes["error.type"] = failSpan(api, span, error);
        span.end();
        if (this.#metrics) {
          this.#duration.record((performance.now() - started) / 1000, attributes);
          this.#sent.add(count, attributes);
        }
      },
    };
  }

  /** Start the telemetry of handling one delivery from `source`. */
  process(source: Source, message: InboundMessage, temporary = false): ProcessOp {
    if (!this.#metrics && this.#inert()) return INERT_PROCESS;
    const api = this.#api;
    const base = this.#destination(source, temporary);
    if (source.kind === "topic") {
      base["messaging.consumer.group.name"] = source.group;
      base["messaging.destination.subscription.name"] = source.group;
    }
    const producer = extract(api, message.headers);
    const links: Link[] = producer ? [{ context: api.trace.getSpanContext(producer)! }] : [];
    const parent = this.#parent && producer ? producer : api.context.active();
    const span = this.#tracer.startSpan(
      `process ${temporary ? INBOX_TEMPLATE : source.name}`,
      { kind: api.SpanKind.CONSUMER, links },
      parent,
    );
    const recording = span.isRecording();
    const live = recording || api.trace.isSpanContextValid(span.spanContext());
    if (recording) {
      const attributes: Attributes = {
        ...base,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.message.id": message.id,
        "messaging.message.body.size": message.body.byteLength,
        "omnibus.message.attempt": message.attempt,
      };
      if (message.correlationId !== undefined)
        attributes["messaging.message.conversation_id"] = message.correlationId;
      span.setAttributes(attributes);
    }
    const context = live ? api.trace.setSpan(parent, span) : parent;
    const metric: Attributes = { ...base, "messaging.operation.name": "process" };
    if (this.#metrics) {
      this.#consumed.add(1, metric);
      this.#active.add(1, base);
    }
    const started = this.#metrics ? performance.now() : 0;
    let ended = false;
    return {
      context,
      live,
      run: (fn) => (live ? api.context.with(context, fn) : fn()),
      end: (outcome, error, delayMs) => {
        if (ended) return;
        ended = true;
        if (!live && !this.#metrics) return;
        if (this.#metrics) this.#active.add(-1, base);
        const done: Attributes = { ...metric };
        if (error !== undefined) done["error.type"] = failSpan(api, span, error);
        span.addEvent(outcome, delayMs === undefined ? undefined : { "omnibus.retry.delay_ms": delayMs });
        span.end();
        if (!this.#metrics) return;
        this.#process.record((performance.now() - started) / 1000, done);
        if (outcome === "nack") this.#retried.add(1, done);
        if (outcome === "dead_letter") this.#deadLettered.add(1, done);
      },
    };
  }

  /** A received reply: a `process` span, child of the request's send, linked to the reply's send. */
  reply(inbox: Source, message: InboundMessage, request: Context, error?: unknown): void {
    if (!this.#metrics && this.#inert()) return;
    const api = this.#api;
    const producer = extract(api, message.headers);
    const span = this.#tracer.startSpan(
      `process ${INBOX_TEMPLATE}`,
      {
        kind: api.SpanKind.CONSUMER,
        attributes: {
          ...this.#destination(inbox, true),
          "messaging.operation.type": "process",
          "messaging.operation.name": "process",
          "messaging.message.id": message.id,
          "messaging.message.body.size": message.body.byteLength,
          ...(message.correlationId === undefined
            ? {}
            : { "messaging.message.conversation_id": message.correlationId }),
        },
        links: producer ? [{ context: api.trace.getSpanContext(producer)! }] : [],
      },
      request,
    );
    if (error !== undefined) {
      span.setAttribute("error.type", errorType(error));
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: (error as Error)?.message });
    }
    span.end();
    if (this.#metrics)
      this.#consumed.add(1, { ...this.#destination(inbox, true), "messaging.operation.name": "process" });
  }

  /** No SDK behind the global tracer: spans would be no-ops. */
  #inert(): boolean {
    return this.#proxy !== undefined && this.#proxy.getDelegate() === this.#noopDelegate;
  }

  /** Remember the process context of `message` (the object handed to the handler). */
  remember(message: object, context: Context): void {
    this.#contexts.set(message, context);
  }

  /** The process context of a message being handled, or the active context. */
  contextOf(message: object | undefined): Context {
    return (message && this.#contexts.get(message)) ?? this.#api.context.active();
  }

  /**
   * Observe the broker gauges of `sources()` on every collection, through `stats` (each read
   * bounded by `timeoutMs`; a failed read skips that source this time).
   */
  observeBroker(
    sources: () => readonly GaugeSource[],
    stats: (source: Source) => Promise<SourceStats>,
    timeoutMs = 5_000,
  ): void {
    if (this.#gauges || !this.#metrics) return;
    const m = this.#meter;
    const depth = m.createObservableGauge("omnibus.queue.depth", {
      description: "Messages waiting to be delivered to a source this client consumes (broker state).",
      unit: "{message}",
    });
    const inFlight = m.createObservableGauge("omnibus.queue.in_flight", {
      description: "Messages delivered and not yet settled, where the broker reports it.",
      unit: "{message}",
    });
    const lag = m.createObservableGauge("omnibus.consumer.lag", {
      description: "Messages sent to the source and not yet settled: depth + in flight.",
      unit: "{message}",
    });
    const dead = m.createObservableGauge("omnibus.dead_letter.depth", {
      description: "Messages in the source's dead-letter queue.",
      unit: "{message}",
    });
    const bounded = (source: Source) =>
      new Promise<SourceStats | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        timer.unref?.();
        stats(source).then(
          (s) => {
            clearTimeout(timer);
            resolve(s);
          },
          () => {
            clearTimeout(timer);
            resolve(undefined);
          },
        );
      });
    const callback = async (result: BatchObservableResult) => {
      const seen = new Set<string>();
      await Promise.all(
        sources().map(async ({ source, deadLetterQueue }) => {
          const key = source.kind === "queue" ? `q:${source.name}` : `t:${source.name}:${source.group}`;
          if (seen.has(key)) return;
          seen.add(key);
          const attributes = this.#destination(source, false);
          if (source.kind === "topic") attributes["messaging.consumer.group.name"] = source.group;
          const [own, dlq] = await Promise.all([
            bounded(source),
            bounded({ kind: "queue", name: deadLetterQueue }),
          ]);
          if (own) {
            result.observe(depth, own.depth, attributes);
            if (own.inFlight !== undefined) result.observe(inFlight, own.inFlight, attributes);
            result.observe(lag, own.depth + (own.inFlight ?? 0), attributes);
          }
          if (dlq) result.observe(dead, dlq.depth + (dlq.inFlight ?? 0), attributes);
        }),
      );
    };
    const observables = [depth, inFlight, lag, dead];
    m.addBatchObservableCallback(callback, observables);
    this.#gauges = { observables, callback };
  }

  /** Stop observing the broker gauges (the client closed). */
  close(): void {
    if (this.#gauges)
      this.#meter.removeBatchObservableCallback(this.#gauges.callback, this.#gauges.observables);
    this.#gauges = undefined;
  }
}

/**
 * The telemetry of a client, or `undefined` when it is off: `enabled: false`, or
 * `@opentelemetry/api` is not installed.
 */
export async function createTelemetry(
  options: TelemetryOptions | undefined,
  adapterName: string,
): Promise<Telemetry | undefined> {
  if (options?.enabled === false) return undefined;
  const api = await loadOTel();
  return api === undefined ? undefined : new Telemetry(api, options ?? {}, adapterName);
}
