import { randomUUID } from "node:crypto";
import { measureResources, type RunResources } from "./resources.js";
import { latencyStats, type Summary, summarize } from "./stats.js";
import { LossError, paced, Tracker, windows } from "./tracker.js";
import type { ComparedScenario, Driver, Progress, Workload } from "./types.js";

/**
 * A figure the bench reports: `cpuUsPerMsg` is the client process's user + sys CPU per message
 * (per request in rpc) over the measured window, `peakRssMB` its highest resident set size then.
 */
export type MetricName = "throughput" | "p50" | "p99" | "cpuUsPerMsg" | "peakRssMB";
export const METRIC_NAMES: readonly MetricName[] = ["throughput", "p50", "p99", "cpuUsPerMsg", "peakRssMB"];

export interface MetricSpec {
  readonly scenario: ComparedScenario;
  readonly metric: MetricName;
  readonly unit: "msg/s" | "ms" | "µs";
  /** Which way is better (ratios are Omnibus / raw, but raw / Omnibus for CPU: higher is better). */
  readonly better: "higher" | "lower";
  readonly label: string;
}

export const METRICS: readonly MetricSpec[] = [
  { scenario: "e2e", metric: "throughput", unit: "msg/s", better: "higher", label: "e2e throughput" },
  { scenario: "send", metric: "throughput", unit: "msg/s", better: "higher", label: "send throughput" },
  { scenario: "rpc", metric: "p50", unit: "ms", better: "lower", label: "rpc p50" },
  { scenario: "rpc", metric: "p99", unit: "ms", better: "lower", label: "rpc p99" },
  { scenario: "stream", metric: "p50", unit: "ms", better: "lower", label: "stream p50" },
  { scenario: "stream", metric: "p99", unit: "ms", better: "lower", label: "stream p99" },
];

/** The chart's CPU panels (the table shows CPU as columns of every scenario's first row). */
export const CPU_METRICS: readonly MetricSpec[] = [
  { scenario: "e2e", metric: "cpuUsPerMsg", unit: "µs", better: "lower", label: "e2e CPU per message" },
  { scenario: "send", metric: "cpuUsPerMsg", unit: "µs", better: "lower", label: "send CPU per message" },
];

/** The figures of one run of one scenario on one side. */
export interface RunResult {
  readonly repeat: number;
  /** Figures by metric; absent when the run failed. */
  readonly values?: Partial<Record<MetricName, number>>;
  /** Why the run has no figures (lost messages, an error). */
  readonly error?: string;
  /** Messages delivered twice (e2e and stream). */
  readonly duplicates?: number;
  /** Samples behind the latency percentiles. */
  readonly samples?: number;
  readonly elapsedMs?: number;
  /** CPU and memory of the process over the measured window (also in `values`: cpuUsPerMsg, peakRssMB). */
  readonly resources?: RunResources;
}

/** Everything measured for one side of one scenario. */
export interface SideResult {
  readonly runs: RunResult[];
  /** Median, min and max over the successful runs, by metric. */
  readonly summary: Partial<Record<MetricName, Summary>>;
  /** Set when the side was not run (e.g. no natural raw RPC). */
  readonly skipped?: string;
}

const WARMUP_FRACTION = 0.1;

/** A queue name no other run uses. */
export function freshQueue(scenario: string, side: string): string {
  return `bench-${scenario}-${side}-${randomUUID().slice(0, 8)}`;
}

/** End-to-end: first send to last handled, every id checked, `w.consumers` consumers. Returns msg/s. */
async function e2e(d: Driver, queue: string, w: Workload, n: number, progress: Progress) {
  await d.prepare(queue);
  const tracker = new Tracker(n, progress);
  const stops: (() => Promise<void>)[] = [];
  const stop = () => Promise.all(stops.map((s) => s().catch(() => {})));
  try {
    for (let c = 0; c < (w.consumers ?? 1); c++) stops.push(await d.consume(queue, (b) => tracker.add(b.i)));
    const resources = measureResources();
    const start = performance.now();
    const sending = windows(n, w.window, (from, to) => d.sendWindow(queue, from, to, w.size));
    const sent = sending.then(() => tracker.arm(w.deadlineMs));
    await Promise.all([sending, sent]);
    const used = resources.stop(n);
    const ms = tracker.lastAt - start;
    return {
      values: { throughput: (n / ms) * 1000 },
      duplicates: tracker.duplicates,
      elapsedMs: ms,
      resources: used,
    };
  } finally {
    await stop().catch(() => {});
  }
}

/** Send only: first send to last confirm. Returns msg/s. */
async function send(d: Driver, queue: string, w: Workload, n: number, progress: Progress) {
  await d.prepare(queue);
  const resources = measureResources();
  const start = performance.now();
  await windows(n, w.window, (from, to) => d.sendWindow(queue, from, to, w.size), progress);
  const ms = performance.now() - start;
  return { values: { throughput: (n / ms) * 1000 }, elapsedMs: ms, resources: resources.stop(n) };
}

/** Steady stream: send-to-handler latency, the first half second (warm-up) left out. */
async function stream(d: Driver, queue: string, w: Workload, progress: Progress) {
  await d.prepare(queue);
  const warm = Math.round(w.streamRate * 0.5);
  const total = warm + Math.round(w.streamRate * w.streamSeconds);
  const tracker = new Tracker(total);
  const stop = await d.consume(queue, (b) => tracker.add(b.i, b.t));
  try {
    const failures: unknown[] = [];
    const confirms: Promise<void>[] = [];
    const resources = measureResources();
    const start = performance.now();
    await paced(
      w.streamRate,
      total / w.streamRate,
      (from, to) => {
        const t = Math.round(performance.now() * 1000) / 1000;
        confirms.push(d.sendTick(queue, from, to, w.size, t).catch((error) => void failures.push(error)));
      },
      progress,
    );
    await Promise.all(confirms);
    if (failures.length > 0) throw new Error(`${failures.length} sends failed: ${String(failures[0])}`);
    await tracker.arm(w.deadlineMs);
    const used = resources.stop(total);
    const stats = latencyStats(tracker.latenciesFrom(warm));
    return {
      values: { p50: stats.p50, p99: stats.p99 },
      samples: stats.count,
      duplicates: tracker.duplicates,
      elapsedMs: performance.now() - start,
      resources: used,
    };
  } finally {
    await stop().catch(() => {});
  }
}

/** Sequential request-reply; the first tenth (at least 20) are warm-up. */
async function rpc(d: Driver, queue: string, w: Workload, progress: Progress) {
  if (!d.rpc) throw new Error("no rpc");
  await d.prepare(queue);
  const warm = Math.max(20, Math.round(w.rpcCount * WARMUP_FRACTION));
  const resources = measureResources();
  const start = performance.now();
  const all = await d.rpc(queue, warm + w.rpcCount, w.size, progress);
  // Per request, the warm-up ones included (requester and replier both run in this process).
  const used = resources.stop(all.length);
  const stats = latencyStats(all.slice(warm));
  return {
    values: { p50: stats.p50, p99: stats.p99 },
    samples: stats.count,
    elapsedMs: performance.now() - start,
    resources: used,
  };
}

/**
 * One run of `scenario` on a fresh queue, deleted after. A run that loses messages or fails
 * comes back with an `error` instead of figures.
 */
export async function runOnce(
  d: Driver,
  scenario: ComparedScenario,
  w: Workload,
  repeat: number,
  progress: Progress,
  options: { warmup?: boolean } = {},
): Promise<RunResult> {
  const queue = freshQueue(scenario, d.side);
  // Warm-up runs are a tenth of the size: connections, JIT, broker caches.
  const n = options.warmup ? Math.max(50, Math.round(w.messages * WARMUP_FRACTION)) : w.messages;
  const sized: Workload = options.warmup
    ? {
        ...w,
        messages: n,
        rpcCount: Math.max(20, Math.round(w.rpcCount * WARMUP_FRACTION)),
        streamSeconds: 0.5,
      }
    : w;
  try {
    let out: Omit<RunResult, "repeat">;
    switch (scenario) {
      case "e2e":
        out = await e2e(d, queue, sized, n, progress);
        break;
      case "send":
        out = await send(d, queue, sized, n, progress);
        break;
      case "rpc":
        out = await rpc(d, queue, sized, progress);
        break;
      case "stream":
        out = await stream(d, queue, sized, progress);
        break;
    }
    const values = out.resources
      ? { ...out.values, cpuUsPerMsg: out.resources.cpuUsPerMsg, peakRssMB: out.resources.peakRssMB }
      : out.values;
    return { repeat, ...out, values };
  } catch (error) {
    const message =
      error instanceof LossError ? error.message : `failed: ${(error as Error)?.message ?? error}`;
    return { repeat, error: message };
  } finally {
    await d.cleanup(queue).catch(() => {});
  }
}

export function summarizeRuns(runs: readonly RunResult[]): Partial<Record<MetricName, Summary>> {
  const out: Partial<Record<MetricName, Summary>> = {};
  for (const metric of METRIC_NAMES) {
    const values = runs.flatMap((r) => (r.values?.[metric] === undefined ? [] : [r.values[metric]]));
    // A side with a failed run has no summary: a benchmark that loses messages prints no number.
    if (values.length === 0 || runs.some((r) => r.error !== undefined)) continue;
    const s = summarize(values);
    if (s) out[metric] = s;
  }
  return out;
}
