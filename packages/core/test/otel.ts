// The real OpenTelemetry SDK for tests: an in-memory span exporter, a metric reader collected on
// demand, and the async-hooks context manager (as NodeSDK registers it).
import { context, type SpanContext } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Register the async-hooks context manager once per test process. */
export function useContextManager(): void {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A tracer provider and a meter provider of the SDK, kept in memory. */
export interface Sdk {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  /** Collect the metrics now. */
  metrics(): Promise<ResourceMetrics>;
  shutdown(): Promise<void>;
}

export function sdk(): Sdk {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    metrics: async () => {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      return resourceMetrics;
    },
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The data points of metric `name` (empty when it was never recorded). */
export function points(metrics: ResourceMetrics, name: string): DataPoint<number | Histogram>[] {
  for (const scope of metrics.scopeMetrics)
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name) return metric.dataPoints as DataPoint<number | Histogram>[];
  return [];
}

/** The sum of a counter's points (or a histogram's counts) whose attributes include `match`. */
export function total(metrics: ResourceMetrics, name: string, match: Record<string, unknown> = {}): number {
  let n = 0;
  for (const p of points(metrics, name)) {
    if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
    n += typeof p.value === "number" ? p.value : p.value.count;
  }
  return n;
}

/** The span whose attribute `key` is `value` and name is `name`. */
export function spanWith(spans: readonly ReadableSpan[], name: string, key: string, value: unknown) {
  return spans.find((s) => s.name === name && s.attributes[key] === value);
}

export const sameSpan = (a: SpanContext | undefined, b: SpanContext | undefined) =>
  a !== undefined && b !== undefined && a.traceId === b.traceId && a.spanId === b.spanId;
