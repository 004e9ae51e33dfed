/**
 * `pnpm bench --curves`: how e2e throughput grows with the number of consumers (1, 2, 4, 8), the
 * body size (256 B, 4 KiB, 64 KiB) and, on Kafka, the topic's partitions (1, 3, 6), for the raw
 * client and for Omnibus, each point the median of `repeat` runs with the two sides alternating
 * (as `pnpm bench`). The figures go to `curves.json`, the chart drawn from them (charts.ts) to
 * `curves.svg`.
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { maskUrl } from "@omnibus/brokers";
import { type OmnibusTuning, omnibusDriver, omnibusUrl, rawDriver } from "./brokers.js";
import { curvesChartSpec, renderSvg } from "./charts.js";
import { type MetricName, type RunResult, runOnce, summarizeRuns } from "./harness.js";
import { ProgressDisplay } from "./progress.js";
import { brokerWorkload, type Machine, machine } from "./run.js";
import type { Summary } from "./stats.js";
import type { BrokerName, Driver, Workload } from "./types.js";

/** The parameters a curve can vary. */
export type CurveName = "consumers" | "size" | "partitions";

/** Each curve's parameter values and axis label; partitions only on Kafka. */
export const CURVES: Readonly<
  Record<CurveName, { readonly label: string; readonly values: readonly number[] }>
> = {
  consumers: { label: "consumers", values: [1, 2, 4, 8] },
  size: { label: "body bytes", values: [256, 4096, 65_536] },
  partitions: { label: "Kafka partitions", values: [1, 3, 6] },
};

/** One side at one point: the medians of its runs, or why it has none. */
export interface CurveSide {
  readonly throughput?: Summary;
  readonly cpuUsPerMsg?: Summary;
  readonly errors?: string[];
}

export interface CurvePoint {
  readonly x: number;
  readonly messages: number;
  readonly raw?: CurveSide;
  readonly omnibus?: CurveSide;
}

export interface Curve {
  readonly name: CurveName;
  readonly label: string;
  readonly points: CurvePoint[];
}

export interface CurvesReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Since 2026-12-03 with platform and memory too (the committed curves.json has the first three). */
  readonly machine: Pick<Machine, "cpus" | "cpuModel" | "node"> & Partial<Machine>;
  readonly options: { brokers: BrokerName[]; repeat: number; messages: number; maxBytes: number };
  readonly brokers: { broker: BrokerName; url: string; skipped?: string; curves: Curve[] }[];
  /** What was rerun later and merged in (a broker's curves replaced by a later run's). */
  readonly notes?: string[];
}

export interface CurvesOptions {
  readonly brokers: readonly BrokerName[];
  /** The base workload (its `messages`, `window`, `deadlineMs`); size and consumers vary. */
  readonly workload: Workload;
  readonly repeat: number;
  readonly omnibus?: OmnibusTuning;
  readonly quiet?: boolean;
  readonly uncapped?: boolean;
  /** Bytes of bodies per run at most: large bodies run fewer messages. @default 256 MiB */
  readonly maxBytes?: number;
}

const METRICS = ["throughput", "cpuUsPerMsg"] as const satisfies readonly MetricName[];

/** Runs every curve on every broker (the memory broker has no raw side and is skipped). */
export async function runCurves(options: CurvesOptions): Promise<CurvesReport> {
  const startedAt = new Date().toISOString();
  const progress = new ProgressDisplay(process.stderr, options.quiet);
  const maxBytes = options.maxBytes ?? 256 * 2 ** 20;
  const brokers: CurvesReport["brokers"] = [];
  for (const broker of options.brokers) {
    const url = maskUrl(omnibusUrl(broker));
    const base = brokerWorkload(broker, options.workload, options.uncapped === true);
    const tuning = options.omnibus ?? {};
    const names: CurveName[] =
      broker === "kafka" ? ["consumers", "size", "partitions"] : ["consumers", "size"];
    const pair = await connectPair(broker, tuning);
    if (typeof pair === "string") {
      progress.note(`${broker}: skipped (${pair})`);
      brokers.push({ broker, url, skipped: pair, curves: [] });
      continue;
    }
    const curves: Curve[] = [];
    try {
      await warmUp(broker, pair, base, progress);
      for (const name of names) {
        const points: CurvePoint[] = [];
        for (const x of CURVES[name].values) {
          const messages =
            name === "size" ? Math.min(base.messages, Math.floor(maxBytes / x)) : base.messages;
          const w: Workload = {
            ...base,
            messages,
            ...(name === "size" ? { size: x } : {}),
            ...(name === "consumers" ? { consumers: x } : {}),
          };
          // Partitions are a setting of both clients: a pair of drivers per value.
          const drivers: Driver[] | string =
            name === "partitions" ? await connectPair(broker, { ...tuning, partitions: x }) : pair;
          if (typeof drivers === "string") {
            points.push({ x, messages, raw: { errors: [drivers] }, omnibus: { errors: [drivers] } });
            continue;
          }
          try {
            if (drivers !== pair) await warmUp(broker, drivers, w, progress);
            points.push({
              x,
              messages,
              ...(await measure(broker, drivers, w, `${name}=${x}`, options.repeat, progress)),
            });
          } finally {
            if (drivers !== pair) for (const d of drivers) await d.close().catch(() => {});
          }
        }
        curves.push({ name, label: CURVES[name].label, points });
      }
    } finally {
      for (const d of pair) await d.close().catch(() => {});
    }
    brokers.push({ broker, url, curves });
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    options: {
      brokers: [...options.brokers],
      repeat: options.repeat,
      messages: options.workload.messages,
      maxBytes,
    },
    brokers,
  };
}

/** Both sides connected, raw first, or why not. Kafka's `partitions` go to both. */
async function connectPair(
  broker: BrokerName,
  tuning: OmnibusTuning & { partitions?: number },
): Promise<Driver[] | string> {
  const { partitions, ...rest } = tuning;
  const omnibusTuning: OmnibusTuning =
    partitions === undefined ? rest : { ...rest, adapterOptions: { ...rest.adapterOptions, partitions } };
  const raw = await rawDriver(broker, omnibusTuning);
  const omni = omnibusDriver(broker, omnibusTuning);
  if (typeof raw === "string") return `raw: ${raw}`;
  if (typeof omni === "string") return `omnibus: ${omni}`;
  const connected: Driver[] = [];
  for (const d of [raw, omni]) {
    try {
      await d.connect();
      connected.push(d);
    } catch (error) {
      for (const c of [...connected, d]) await c.close().catch(() => {});
      return `${d.side} cannot connect: ${(error as Error)?.message ?? error}`;
    }
  }
  return connected;
}

async function warmUp(broker: BrokerName, drivers: Driver[], w: Workload, progress: ProgressDisplay) {
  for (const d of drivers) {
    progress.start(`${broker} curves ${d.side} warm-up`);
    const r = await runOnce(d, "e2e", w, 0, (a, b) => progress.update(a, b), { warmup: true });
    progress.end(describe(r));
  }
}

async function measure(
  broker: BrokerName,
  drivers: Driver[],
  w: Workload,
  label: string,
  repeat: number,
  progress: ProgressDisplay,
): Promise<{ raw: CurveSide; omnibus: CurveSide }> {
  const runs: Record<"raw" | "omnibus", RunResult[]> = { raw: [], omnibus: [] };
  for (let r = 1; r <= repeat; r++) {
    for (const d of r % 2 === 1 ? drivers : [...drivers].reverse()) {
      progress.start(`${broker} ${label} ${d.side} ${r}/${repeat}`);
      const result = await runOnce(d, "e2e", w, r, (a, b) => progress.update(a, b));
      runs[d.side].push(result);
      progress.end(describe(result));
    }
  }
  const side = (name: "raw" | "omnibus"): CurveSide => {
    const summary = summarizeRuns(runs[name]);
    const errors = runs[name].flatMap((x) => (x.error ? [x.error] : []));
    const out: { -readonly [K in keyof CurveSide]: CurveSide[K] } = {};
    for (const m of METRICS) if (summary[m]) out[m] = summary[m];
    if (errors.length > 0) out.errors = errors;
    return out;
  };
  return { raw: side("raw"), omnibus: side("omnibus") };
}

function describe(r: RunResult): string {
  if (r.error) return `✗ ${r.error}`;
  const v = r.values ?? {};
  return `${Math.round(v.throughput ?? 0).toLocaleString("en-US")} msg/s, ${(v.cpuUsPerMsg ?? 0).toFixed(1)} µs CPU/msg`;
}

/** Writes `<dir>/curves.json` and the chart drawn from it, `<dir>/curves.svg`; returns their paths. */
export async function writeCurves(report: CurvesReport, dir: string): Promise<{ json: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, "curves.json");
  const svg = path.join(dir, "curves.svg");
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(svg, await renderSvg(curvesChartSpec(report)));
  return { json, svg };
}

/** The text table of a curves report: per broker and curve, raw → Omnibus msg/s at each point. */
export function curvesTable(report: CurvesReport): string {
  const lines: string[] = [];
  const fmt = (s: CurveSide | undefined) =>
    s?.throughput ? Math.round(s.throughput.median).toLocaleString("en-US") : s?.errors ? "✗" : "—";
  for (const b of report.brokers) {
    lines.push(`${b.broker}  ${b.url}`);
    if (b.skipped) lines.push(`  skipped: ${b.skipped}`);
    for (const c of b.curves) {
      const cells = c.points.map((p) => {
        const raw = p.raw?.throughput?.median;
        const omni = p.omnibus?.throughput?.median;
        const r = raw && omni ? ` (${(omni / raw).toFixed(2)})` : "";
        return `${p.x}: ${fmt(p.raw)} → ${fmt(p.omnibus)}${r}`;
      });
      lines.push(`  ${c.label.padEnd(16)} ${cells.join("   ")}`);
    }
  }
  return lines.join("\n");
}
