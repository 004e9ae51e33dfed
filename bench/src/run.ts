import os from "node:os";
import { maskUrl } from "@omnibus/brokers";
import { brokerOf, type OmnibusTuning, omnibusDriver, omnibusUrl, rawDriver } from "./brokers.js";
import { type MetricName, type RunResult, runOnce, type SideResult, summarizeRuns } from "./harness.js";
import { OmnibusDriver } from "./omnibus.js";
import { ProgressDisplay } from "./progress.js";
import { TRACING_MODES, type TracingMode, type TracingRun, tracingSdk } from "./tracing.js";
import type { BrokerName, ComparedScenario, Driver, ScenarioName, Workload } from "./types.js";

export interface BenchOptions {
  readonly brokers: readonly BrokerName[];
  readonly scenarios: readonly ScenarioName[];
  readonly workload: Workload;
  /** Measured runs per side and scenario (after one warm-up run). */
  readonly repeat: number;
  /** Skip the warm-up runs (smoke tests). @default false */
  readonly noWarmup?: boolean;
  readonly omnibus?: OmnibusTuning;
  /** No progress output. @default false */
  readonly quiet?: boolean;
  /** Do not scale the workload down on slow brokers (SQS emulators). @default false */
  readonly uncapped?: boolean;
}

/**
 * SQS (an emulator on loopback here) moves a few hundred to a few thousand messages a second:
 * its runs use at most 2,000 messages, 200 requests and a 200 msg/s stream, so that a full run
 * stays within minutes. The report says so.
 */
const CAPS: Partial<Record<BrokerName, Partial<Workload>>> = {
  sqs: { messages: 2000, rpcCount: 200, streamRate: 200 },
  // The Pub/Sub emulator (Java, in memory) now moves 10,000-20,000 messages a second here, so e2e
  // and send run at full size: at 5,000 a run lasted 0.3-0.5 s and JIT warm-up decided its CPU
  // per message (Omnibus 101 → 56 µs over five runs of one bench, raw 130 → 36). Its request-reply
  // round trip is the emulator's ~50 ms wake-up of a waiting pull, and its stream rate is capped.
  pubsub: { rpcCount: 200, streamRate: 500 },
};

/** The workload `broker` runs: `w` scaled down for the slow emulators (see CAPS) unless `uncapped`. */
export function brokerWorkload(broker: BrokerName, w: Workload, uncapped: boolean): Workload {
  const caps = CAPS[brokerOf(broker)];
  if (!caps || uncapped) return w;
  return {
    ...w,
    messages: Math.min(w.messages, caps.messages ?? w.messages),
    rpcCount: Math.min(w.rpcCount, caps.rpcCount ?? w.rpcCount),
    streamRate: Math.min(w.streamRate, caps.streamRate ?? w.streamRate),
  };
}

export interface ScenarioResult {
  readonly raw: SideResult;
  readonly omnibus: SideResult;
}

/** The `tracing` scenario of one broker: Omnibus's e2e with each telemetry mode (see tracing.ts). */
export interface TracingResult {
  readonly modes: Record<TracingMode, SideResult & { readonly runs: TracingRun[] }>;
  /**
   * Spans the SDK exported per message, over the measured `sdk` runs: a `create` and a `process`
   * span per message and a `send` span per `sendBatch` (2.002 with windows of 500).
   */
  readonly spansPerMessage?: number;
  readonly skipped?: string;
}

export interface BrokerResult {
  readonly broker: BrokerName;
  /** Omnibus URL, password masked. */
  readonly url: string;
  readonly skipped?: string;
  readonly notes: string[];
  /** The workload this broker ran (scaled down for slow brokers unless `uncapped`). */
  readonly workload: Workload;
  readonly scenarios: Partial<Record<ComparedScenario, ScenarioResult>>;
  /** The `tracing` scenario, when it ran. */
  readonly tracing?: TracingResult;
}

/** The machine a report was measured on. */
export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly platform: string;
  readonly totalMemMB: number;
}

/** This machine, as a report records it. */
export function machine(): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
  };
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  readonly options: Omit<BenchOptions, "quiet">;
  readonly brokers: BrokerResult[];
}

function fmtRun(scenario: ScenarioName, r: RunResult): string {
  if (r.error) return `✗ ${r.error}`;
  const v = r.values ?? {};
  const cpu = v.cpuUsPerMsg === undefined ? "" : `, ${v.cpuUsPerMsg.toFixed(1)} µs CPU/msg`;
  if (scenario === "e2e" || scenario === "send" || scenario === "tracing")
    return `${Math.round(v.throughput ?? 0).toLocaleString("en-US")} msg/s${cpu}`;
  return `p50 ${(v.p50 ?? 0).toFixed(2)} ms, p99 ${(v.p99 ?? 0).toFixed(2)} ms${cpu}`;
}

function skippedSide(reason: string): SideResult {
  return { runs: [], summary: {}, skipped: reason };
}

/** Run the bench: for each broker and scenario, warm-up, then `repeat` runs of raw and Omnibus, alternating which goes first. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const progress = new ProgressDisplay(process.stderr, options.quiet);
  const brokers: BrokerResult[] = [];
  for (const broker of options.brokers) {
    const url = maskUrl(omnibusUrl(broker));
    const notes: string[] = [];
    const workload = brokerWorkload(broker, options.workload, options.uncapped === true);
    if (workload !== options.workload) {
      notes.push(
        `workload scaled down for this broker: ${workload.messages} messages, ${workload.rpcCount} requests, stream ${workload.streamRate} msg/s (--uncapped for the full size)`,
      );
    }
    const raw = await rawDriver(broker, options.omnibus ?? {});
    const omni = omnibusDriver(broker, options.omnibus ?? {});
    const drivers: Driver[] = [];
    const missing: Partial<Record<"raw" | "omnibus", string>> = {};
    for (const [side, d] of [
      ["raw", raw],
      ["omnibus", omni],
    ] as const) {
      if (typeof d === "string") {
        missing[side] = d;
        continue;
      }
      try {
        await d.connect();
        drivers.push(d);
      } catch (error) {
        missing[side] = `cannot connect: ${(error as Error)?.message ?? error}`;
        await d.close().catch(() => {});
      }
    }
    if (missing.raw) notes.push(`raw: ${missing.raw}`);
    if (missing.omnibus) notes.push(`omnibus: ${missing.omnibus}`);
    if (drivers.length === 0) {
      progress.note(`${broker}: skipped (${notes.join("; ")})`);
      brokers.push({ broker, url, skipped: notes.join("; "), notes, workload, scenarios: {} });
      continue;
    }
    const scenarios: Partial<Record<ComparedScenario, ScenarioResult>> = {};
    let tracing: TracingResult | undefined;
    try {
      for (const scenario of options.scenarios) {
        if (scenario === "tracing") {
          const main = drivers.find((d) => d.side === "omnibus");
          tracing = main
            ? await runTracing(broker, main, workload, options, progress)
            : { modes: emptyModes(missing.omnibus ?? "no Omnibus side"), skipped: missing.omnibus };
          continue;
        }
        const runs: Record<"raw" | "omnibus", RunResult[]> = { raw: [], omnibus: [] };
        const active = drivers.filter((d) => scenario !== "rpc" || d.rpc !== undefined);
        for (const d of drivers) {
          if (scenario === "rpc" && !d.rpc)
            notes.push(`${d.side} rpc: ${d.rpcNote ?? "no natural request-reply"}`);
        }
        if (!options.noWarmup) {
          for (const d of active) {
            progress.start(`${broker} ${scenario} ${d.side} warm-up`);
            const r = await runOnce(d, scenario, workload, 0, (a, b) => progress.update(a, b), {
              warmup: true,
            });
            progress.end(fmtRun(scenario, r));
          }
        }
        for (let repeat = 1; repeat <= options.repeat; repeat++) {
          const order = repeat % 2 === 1 ? active : [...active].reverse();
          for (const d of order) {
            progress.start(`${broker} ${scenario} ${d.side} ${repeat}/${options.repeat}`);
            const r = await runOnce(d, scenario, workload, repeat, (a, b) => progress.update(a, b));
            runs[d.side].push(r);
            progress.end(fmtRun(scenario, r));
          }
        }
        const side = (name: "raw" | "omnibus"): SideResult => {
          if (missing[name]) return skippedSide(missing[name]);
          const d = drivers.find((x) => x.side === name);
          if (scenario === "rpc" && d && !d.rpc) return skippedSide(d.rpcNote ?? "no natural request-reply");
          return { runs: runs[name], summary: summarizeRuns(runs[name]) };
        };
        scenarios[scenario] = { raw: side("raw"), omnibus: side("omnibus") };
      }
    } finally {
      for (const d of drivers) await d.close().catch(() => {});
    }
    brokers.push({ broker, url, notes, workload, scenarios, ...(tracing ? { tracing } : {}) });
  }
  const { quiet: _quiet, ...rest } = options;
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    options: rest,
    brokers,
  };
}

/** Omnibus / raw for one metric, when both sides have a median. */
export function ratio(s: ScenarioResult | undefined, metric: MetricName): number | undefined {
  const raw = s?.raw.summary[metric]?.median;
  const omni = s?.omnibus.summary[metric]?.median;
  if (raw === undefined || omni === undefined || raw === 0) return undefined;
  return omni / raw;
}

function emptyModes(reason: string): TracingResult["modes"] {
  return { off: skippedSide(reason), "no-sdk": skippedSide(reason), sdk: skippedSide(reason) };
}

/**
 * The `tracing` scenario: e2e runs of three Omnibus clients that differ only in telemetry (the
 * broker's Omnibus driver is the `no-sdk` one), a warm-up each, then `repeat` rounds, each mode
 * once per round, the order rotating from round to round.
 */
async function runTracing(
  broker: BrokerName,
  main: Driver,
  workload: Workload,
  options: BenchOptions,
  progress: ProgressDisplay,
): Promise<TracingResult> {
  const sdk = await tracingSdk();
  const setup = { ...(options.omnibus ?? {}), url: omnibusUrl(broker), deferCleanup: broker === "kafka" };
  const off = new OmnibusDriver({ ...setup, telemetry: { enabled: false } });
  const withSdk = new OmnibusDriver({ ...setup, telemetry: sdk.telemetry });
  const drivers: Record<TracingMode, Driver> = { off, "no-sdk": main, sdk: withSdk };
  const runs: Record<TracingMode, TracingRun[]> = { off: [], "no-sdk": [], sdk: [] };
  let spans = 0;
  let sdkMessages = 0;
  const once = async (mode: TracingMode, repeat: number, warmup: boolean): Promise<TracingRun> => {
    const before = sdk.spans();
    const r = await runOnce(drivers[mode], "e2e", workload, repeat, (a, b) => progress.update(a, b), {
      warmup,
    });
    if (mode !== "sdk") return r;
    const exported = sdk.spans() - before;
    if (!warmup && !r.error) {
      spans += exported;
      sdkMessages += workload.messages;
    }
    return { ...r, spans: exported };
  };
  try {
    await off.connect();
    await withSdk.connect();
    if (!options.noWarmup) {
      for (const mode of TRACING_MODES) {
        progress.start(`${broker} tracing ${mode} warm-up`);
        progress.end(fmtRun("tracing", await once(mode, 0, true)));
      }
    }
    for (let repeat = 1; repeat <= options.repeat; repeat++) {
      const shift = (repeat - 1) % TRACING_MODES.length;
      const order = [...TRACING_MODES.slice(shift), ...TRACING_MODES.slice(0, shift)];
      for (const mode of order) {
        progress.start(`${broker} tracing ${mode} ${repeat}/${options.repeat}`);
        const r = await once(mode, repeat, false);
        runs[mode].push(r);
        progress.end(fmtRun("tracing", r));
      }
    }
  } catch (error) {
    return { modes: emptyModes(`cannot connect: ${(error as Error)?.message ?? error}`) };
  } finally {
    await off.close().catch(() => {});
    await withSdk.close().catch(() => {});
    await sdk.shutdown().catch(() => {});
  }
  const side = (mode: TracingMode) => ({ runs: runs[mode], summary: summarizeRuns(runs[mode]) });
  return {
    modes: { off: side("off"), "no-sdk": side("no-sdk"), sdk: side("sdk") },
    ...(sdkMessages > 0 ? { spansPerMessage: spans / sdkMessages } : {}),
  };
}

/** A tracing mode's median over telemetry off's, for one metric. */
export function tracingRatio(t: TracingResult | undefined, mode: TracingMode, metric: MetricName) {
  const off = t?.modes.off.summary[metric]?.median;
  const value = t?.modes[mode].summary[metric]?.median;
  if (off === undefined || value === undefined || off === 0) return undefined;
  return value / off;
}

/** Raw / Omnibus CPU per message (higher is better, like the throughput ratio). */
export function cpuRatio(s: ScenarioResult | undefined): number | undefined {
  const raw = s?.raw.summary.cpuUsPerMsg?.median;
  const omni = s?.omnibus.summary.cpuUsPerMsg?.median;
  if (raw === undefined || omni === undefined || omni === 0) return undefined;
  return raw / omni;
}
