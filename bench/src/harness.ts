import { randomUUID } from "node:crypto";
import { latencyStats, type Summary, summarize } from "./stats.js";
import { LossError, paced, Tracker, windows } from "./tracker.js";
import type { Driver, Progress, ScenarioName, Workload } from "./types.js";

/** A figure the bench reports. */
/** `cpu`: this process's CPU (user + system) per message, µs: the client's cost, not the broker's. */
export type MetricName = "throughput" | "cpu" | "p50" | "p99";

export interface MetricSpec {
  readonly scenario: ScenarioName;
  readonly metric: MetricName;
  readonly unit: "msg/s" | "ms" | "µs/msg";
  /** Which way is better (ratios are always Omnibus / raw). */
  readonly better: "higher" | "lower";
  readonly label: string;
}

export const METRICS: readonly MetricSpec[] = [
  { scenario: "e2e", metric: "throughput", unit: "msg/s", better: "higher", label: "e2e throughput" },
  { scenario: "send", metric: "throughput", unit: "msg/s", better: "higher", label: "send throughput" },
  { scenario: "send", metric: "cpu", unit: "µs/msg", better: "lower", label: "send client CPU" },
  { scenario: "rpc", metric: "p50", unit: "ms", better: "lower", label: "rpc p50" },
  { scenario: "rpc", metric: "p99", unit: "ms", better: "lower", label: "rpc p99" },
  { scenario: "stream", metric: "p50", unit: "ms", better: "lower", label: "stream p50" },
  { scenario: "stream", metric: "p99", unit: "ms", better: "lower", label: "stream p99" },
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
export function freshQueue(scenario: ScenarioName, side: string): string {
  return `bench-${scenario}-${side}-${randomUUID().slice(0, 8)}`;
}

/** End-to-end: first send to last handled, every id checked. Returns msg/s. */
async function e2e(d: Driver, queue: string, w: Workload, n: number, progress: Progress) {
  await d.prepare(queue);
  const tracker = new Tracker(n, progress);
  const stop = await d.consume(queue, (b) => tracker.add(b.i));
  try {
    const start = performance.now();
    const sending = windows(n, w.window, (from, to) => d.sendWindow(queue, from, to, w.size));
    const sent = sending.then(() => tracker.arm(w.deadlineMs));
    await Promise.all([sending, sent]);
    const ms = tracker.lastAt - start;
    return { values: { throughput: (n / ms) * 1000 }, duplicates: tracker.duplicates, elapsedMs: ms };
  } finally {
    await stop().catch(() => {});
  }
}

/** Send only: first send to last confirm. Returns msg/s. */
async function send(d: Driver, queue: string, w: Workload, n: number, progress: Progress) {
  await d.prepare(queue);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await windows(n, w.window, (from, to) => d.sendWindow(queue, from, to, w.size), progress);
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { values: { throughput: (n / ms) * 1000, cpu: (used.user + used.system) / n }, elapsedMs: ms };
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
    const stats = latencyStats(tracker.latenciesFrom(warm));
    return {
      values: { p50: stats.p50, p99: stats.p99 },
      samples: stats.count,
      duplicates: tracker.duplicates,
      elapsedMs: performance.now() - start,
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
  const start = performance.now();
  const all = await d.rpc(queue, warm + w.rpcCount, w.size, progress);
  const stats = latencyStats(all.slice(warm));
  return {
    values: { p50: stats.p50, p99: stats.p99 },
    samples: stats.count,
    elapsedMs: performance.now() - start,
  };
}

/**
 * One run of `scenario` on a fresh queue, deleted after. A run that loses messages or fails
 * comes back with an `error` instead of figures.
 */
export async function runOnce(
  d: Driver,
  scenario: ScenarioName,
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
    return { repeat, ...out };
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
  for (const metric of ["throughput", "cpu", "p50", "p99"] as const) {
    const values = runs.flatMap((r) => (r.values?.[metric] === undefined ? [] : [r.values[metric]]));
    // A side with a failed run has no summary: a benchmark that loses messages prints no number.
    if (values.length === 0 || runs.some((r) => r.error !== undefined)) continue;
    const s = summarize(values);
    if (s) out[metric] = s;
  }
  return out;
}
