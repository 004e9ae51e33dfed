/**
 * The `tracing` scenario: what OpenTelemetry costs Omnibus. The e2e workload, Omnibus only, with
 * three clients on the same broker that differ only in `telemetry`:
 *
 * - `off`: `telemetry: { enabled: false }` — what a client costs without `@opentelemetry/api`
 *   installed (core then never builds its telemetry);
 * - `no-sdk`: core's default with `@opentelemetry/api` installed and no SDK registered (the API's
 *   no-op tracer and meter) — the Omnibus side of every other scenario;
 * - `sdk`: the real SDK, given to the client (not registered globally, so the other clients stay
 *   without one): a `BasicTracerProvider` whose `SimpleSpanProcessor` hands every span to a no-op
 *   exporter, and a `MeterProvider` with a reader that is never collected (every metric point is
 *   recorded into the SDK's aggregations). No context manager is registered: on Node 20 the
 *   AsyncLocalStorage one would slow every promise of the process, the other runs' included.
 * @module
 */
import type { TelemetryOptions } from "@omnibus/core";
import type { RunResult } from "./harness.js";

export const TRACING_MODES = ["off", "no-sdk", "sdk"] as const;
export type TracingMode = (typeof TRACING_MODES)[number];

export const TRACING_LABELS: Record<TracingMode, string> = {
  off: "telemetry off",
  "no-sdk": "API, no SDK (default)",
  sdk: "SDK + no-op exporter",
};

/** The SDK side of the `sdk` mode, and how many spans it was handed. */
export interface TracingSdk {
  readonly telemetry: TelemetryOptions;
  /** Spans handed to the exporter so far. */
  spans(): number;
  shutdown(): Promise<void>;
}

/** A tracer provider and a meter provider of the OpenTelemetry SDK, dropping what they record. */
export async function tracingSdk(): Promise<TracingSdk> {
  const { BasicTracerProvider, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const { MeterProvider, MetricReader } = await import("@opentelemetry/sdk-metrics");
  let spans = 0;
  const exporter = {
    export(batch: readonly unknown[], done: (result: { code: number }) => void): void {
      spans += batch.length;
      done({ code: 0 });
    },
    async shutdown(): Promise<void> {},
  };
  class Dropping extends MetricReader {
    protected override async onForceFlush(): Promise<void> {}
    protected override async onShutdown(): Promise<void> {}
  }
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter as never)],
  });
  const meterProvider = new MeterProvider({ readers: [new Dropping()] });
  return {
    telemetry: { tracerProvider, meterProvider },
    spans: () => spans,
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** A tracing run: an e2e run with the spans the SDK exported during it (`sdk` mode). */
export interface TracingRun extends RunResult {
  readonly spans?: number;
}
