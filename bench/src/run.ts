import os from "node:os";
import { maskUrl } from "@omnibus/brokers";
import { type OmnibusTuning, omnibusDriver, omnibusUrl, rawDriver } from "./brokers.js";
import { type MetricName, type RunResult, runOnce, type SideResult, summarizeRuns } from "./harness.js";
import { ProgressDisplay } from "./progress.js";
import type { BrokerName, Driver, ScenarioName, Workload } from "./types.js";

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
  // The Pub/Sub emulator (Java, in memory) moves a few thousand messages a second.
  pubsub: { messages: 5000, rpcCount: 200, streamRate: 500 },
};

function brokerWorkload(broker: BrokerName, w: Workload, uncapped: boolean): Workload {
  const caps = CAPS[broker];
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

export interface BrokerResult {
  readonly broker: BrokerName;
  /** Omnibus URL, password masked. */
  readonly url: string;
  readonly skipped?: string;
  readonly notes: string[];
  /** The workload this broker ran (scaled down for slow brokers unless `uncapped`). */
  readonly workload: Workload;
  readonly scenarios: Partial<Record<ScenarioName, ScenarioResult>>;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: { cpus: number; cpuModel: string; node: string; platform: string; totalMemMB: number };
  readonly options: Omit<BenchOptions, "quiet">;
  readonly brokers: BrokerResult[];
}

function fmtRun(scenario: ScenarioName, r: RunResult): string {
  if (r.error) return `✗ ${r.error}`;
  const v = r.values ?? {};
  if (scenario === "e2e" || scenario === "send")
    return `${Math.round(v.throughput ?? 0).toLocaleString("en-US")} msg/s`;
  return `p50 ${(v.p50 ?? 0).toFixed(2)} ms, p99 ${(v.p99 ?? 0).toFixed(2)} ms`;
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
    const scenarios: Partial<Record<ScenarioName, ScenarioResult>> = {};
    try {
      for (const scenario of options.scenarios) {
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
    brokers.push({ broker, url, notes, workload, scenarios });
  }
  const { quiet: _quiet, ...rest } = options;
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    },
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
