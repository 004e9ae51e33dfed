// The cost of telemetry on the send → handle path, on the memory broker (no network: the
// library's own cost shows most): 20,000 messages of 256 B, sendBatch windows of 500, one consumer
// (concurrency 16), first send to last handled; the median of 7 interleaved runs after a warm-up, per mode:
//   off      telemetry: { enabled: false } (as without @opentelemetry/api installed)
//   no-sdk   @opentelemetry/api installed, no SDK registered (the API's no-op tracer and meter)
//   sdk      the real SDK: every span recorded through a SimpleSpanProcessor into a no-op exporter,
//            every metric into a MeterProvider with a reader
// Run: pnpm exec tsx packages/core/test/telemetry-cost.ts [messages]
import { createClient, shortId, silentLogger, type TelemetryOptions } from "@omnibus/core";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";

const N = Number(process.argv[2] ?? 20_000);
const WINDOW = 500;
const body = "x".repeat(256);

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const noopExporter: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

async function once(telemetry: TelemetryOptions): Promise<number> {
  const bus = createClient({ url: `memory://cost-${shortId()}`, logger: silentLogger, telemetry });
  const queue = `cost-${shortId()}`;
  let handled = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  await bus.consume(queue, () => {
    if (++handled === N) done();
  });
  const started = performance.now();
  for (let i = 0; i < N; i += WINDOW)
    await bus.sendBatch(
      queue,
      Array.from({ length: Math.min(WINDOW, N - i) }, () => ({ body })),
    );
  await all;
  const ms = performance.now() - started;
  await bus.close();
  return ms;
}

const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(noopExporter)] });
const meterProvider = new MeterProvider({ readers: [new Reader()] });
const modes: [string, TelemetryOptions][] = [
  ["off", { enabled: false }],
  ["no-sdk", {}],
  ["sdk", { tracerProvider, meterProvider }],
];
// Interleaved (off, no-sdk, sdk, off, …): a machine whose load changes affects every mode alike.
for (const [, telemetry] of modes) await once(telemetry); // warm-up
const runs = new Map<string, number[]>(modes.map(([name]) => [name, []]));
for (let r = 0; r < 7; r++)
  for (const [name, telemetry] of modes) runs.get(name)!.push(await once(telemetry));
const median = (name: string) => [...runs.get(name)!].sort((a, b) => a - b)[3]!;
for (const [name] of modes)
  process.stdout.write(
    `${name.padEnd(7)} ${Math.round((N / median(name)) * 1000)} msg/s (median ${median(name).toFixed(0)} ms)\n`,
  );
process.stdout.write(
  `time ratio no-sdk/off ${(median("no-sdk") / median("off")).toFixed(2)}, sdk/off ${(median("sdk") / median("off")).toFixed(2)} (${N} messages, median of 7 interleaved runs)\n`,
);
