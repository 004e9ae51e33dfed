import { parseArgs } from "node:util";
import type { OmnibusTuning } from "./brokers.js";
import type { BenchOptions } from "./run.js";
import { BROKERS, type BrokerName, SCENARIOS, type ScenarioName, type Workload } from "./types.js";

export const USAGE = `pnpm bench [options]

  --broker a,b        brokers (${BROKERS.join(",")}); default all
  --scenario a,b      scenarios (${SCENARIOS.join(",")}); default all
                      tracing: Omnibus's e2e with telemetry off, with @opentelemetry/api and no SDK
                      (the default), and with an SDK exporting to a no-op exporter; msg/s, CPU and
                      both ratios over off
  --messages N        messages of e2e and send (default 20000)
  --repeat N          measured runs per side (default 3), after one warm-up run
  --quick             2000 messages, 1 repeat, 200 requests, 2 s stream
  --size N            body bytes (default 256)
  --window N          messages per send window / sendBatch (default 500)
  --rpc N             sequential requests (default 2000)
  --rate N            stream messages per second (default 4000)
  --seconds N         stream duration in seconds (default 5)
  --no-warmup         skip the warm-up runs
  --uncapped          full size on SQS too (scaled down by default: it is slow)
  --out DIR           results folder (default bench/results)
  --curves            e2e msg/s against consumers (1,2,4,8), body size (256,4096,65536) and, on
                      Kafka, partitions (1,3,6), raw and Omnibus alternating; writes curves.json and
                      the chart drawn from it, curves.svg (bodies over 256 MiB a run get fewer messages)
Omnibus tuning (default: none, i.e. createClient({ url }) with core's defaults):
  --concurrency N     consumer concurrency
  --prefetch N        consumer prefetch
  --send-mode M       batch (sendBatch per window, default) or concurrent (one send() per message)
  --adapter-options J adapterOptions as JSON, e.g. '{"queueType":"classic"}' (raw RabbitMQ follows queueType)
  --claim-check N     bodies over N bytes through the claim-check middleware (file store in a temp dir);
                      e.g. --size 1048576 --claim-check 65536 --messages 300 --window 10 --rate 20
`;

function list<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (value === undefined || value === "all") return [...all];
  const out = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const v of out)
    if (!all.includes(v as T)) throw new Error(`unknown ${what} ${JSON.stringify(v)} (${all.join(", ")})`);
  return out as T[];
}

function int(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${what} must be a positive number, got ${value}`);
  return n;
}

export interface CliOptions extends BenchOptions {
  readonly out: string;
  readonly help: boolean;
  /** `--curves`: run the curves (curves.ts) instead of the scenarios. */
  readonly curves: boolean;
}

export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      broker: { type: "string" },
      scenario: { type: "string" },
      messages: { type: "string" },
      repeat: { type: "string" },
      quick: { type: "boolean", default: false },
      size: { type: "string" },
      window: { type: "string" },
      rpc: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      "no-warmup": { type: "boolean", default: false },
      out: { type: "string" },
      uncapped: { type: "boolean", default: false },
      concurrency: { type: "string" },
      prefetch: { type: "string" },
      "send-mode": { type: "string" },
      "adapter-options": { type: "string" },
      "claim-check": { type: "string" },
      curves: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const messages = int(values.messages, quick ? 2000 : 20_000, "messages");
  const workload: Workload = {
    messages,
    size: int(values.size, 256, "size"),
    window: int(values.window, 500, "window"),
    rpcCount: int(values.rpc, quick ? 200 : 2000, "rpc"),
    streamRate: int(values.rate, 4000, "rate"),
    streamSeconds: int(values.seconds, quick ? 2 : 5, "seconds"),
    deadlineMs: Math.max(30_000, messages * 2),
  };
  const consumer: { concurrency?: number; prefetch?: number } = {};
  if (values.concurrency !== undefined) consumer.concurrency = int(values.concurrency, 16, "concurrency");
  if (values.prefetch !== undefined) consumer.prefetch = int(values.prefetch, 64, "prefetch");
  const mode = values["send-mode"];
  if (mode !== undefined && mode !== "batch" && mode !== "concurrent")
    throw new Error("--send-mode is batch or concurrent");
  const omnibus: { -readonly [K in keyof OmnibusTuning]: OmnibusTuning[K] } = {};
  if (Object.keys(consumer).length > 0) omnibus.consumer = consumer;
  if (mode !== undefined) omnibus.sendMode = mode;
  if (values["adapter-options"] !== undefined) omnibus.adapterOptions = JSON.parse(values["adapter-options"]);
  if (values["claim-check"] !== undefined) {
    const n = Number(values["claim-check"]);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--claim-check takes bytes (an integer >= 0), got ${values["claim-check"]}`);
    omnibus.claimCheckBytes = n;
  }
  return {
    brokers: list<BrokerName>(values.broker, BROKERS, "broker"),
    scenarios: list<ScenarioName>(values.scenario, SCENARIOS, "scenario"),
    workload,
    repeat: int(values.repeat, quick ? 1 : 3, "repeat"),
    noWarmup: values["no-warmup"] === true,
    uncapped: values.uncapped === true,
    omnibus,
    out: values.out ?? "bench/results",
    help: values.help === true,
    curves: values.curves === true,
  };
}
