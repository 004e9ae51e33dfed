import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { benchChartSpec, renderSvg } from "./charts.js";
import { METRICS } from "./harness.js";
import { type BenchReport, type BrokerResult, cpuRatio, ratio, tracingRatio } from "./run.js";
import type { Summary } from "./stats.js";
import { TRACING_LABELS, TRACING_MODES } from "./tracing.js";

type Unit = "msg/s" | "ms" | "µs" | "MB";

function num(value: number, unit: Unit): string {
  if (unit === "msg/s") return Math.round(value).toLocaleString("en-US");
  if (unit === "MB") return Math.round(value).toLocaleString("en-US");
  if (unit === "µs") return value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString("en-US");
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

/** Medians only (the CPU and RSS columns). */
function med(s: Summary | undefined, unit: Unit): string {
  return s ? num(s.median, unit) : "—";
}

function cell(s: Summary | undefined, unit: Unit, fallback: string): string {
  if (!s) return fallback;
  return `${num(s.median, unit)} [${num(s.min, unit)}–${num(s.max, unit)}]`;
}

function sideFallback(side: { skipped?: string; runs: { error?: string }[] } | undefined): string {
  if (!side) return "—";
  if (side.skipped) return "n/a";
  const failed = side.runs.find((r) => r.error);
  return failed ? `✗ ${failed.error}` : "—";
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `  ${row.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd());
}

/**
 * The text table of one broker: raw, Omnibus (median [min–max]) and Omnibus / raw per metric;
 * on the first row of each scenario, the medians of CPU µs per message (per request in rpc) and
 * peak RSS of both sides, and raw / Omnibus CPU (higher is better, as for throughput). Then the
 * tracing scenario's table, if it ran.
 */
export function brokerTable(b: BrokerResult): string {
  const lines = [`${b.broker}  ${b.url}`];
  if (b.skipped) {
    lines.push(`  skipped: ${b.skipped}`);
    return lines.join("\n");
  }
  const rows: string[][] = [
    [
      "metric",
      "unit",
      "raw median [min–max]",
      "omnibus median [min–max]",
      "omnibus/raw",
      "added",
      "cpu µs/msg raw",
      "cpu µs/msg omnibus",
      "cpu ratio raw/omnibus",
      "peak RSS MB raw",
      "peak RSS MB omnibus",
    ],
  ];
  const shown = new Set<string>();
  for (const m of METRICS) {
    const s = b.scenarios[m.scenario];
    if (!s) continue;
    const r = ratio(s, m.metric);
    const raw = s.raw.summary[m.metric];
    const omni = s.omnibus.summary[m.metric];
    const added =
      m.unit === "ms" && raw && omni
        ? `${omni.median - raw.median >= 0 ? "+" : ""}${(omni.median - raw.median).toFixed(2)} ms`
        : "";
    const first = !shown.has(m.scenario);
    shown.add(m.scenario);
    const c = cpuRatio(s);
    rows.push([
      m.label,
      m.unit,
      cell(raw, m.unit, sideFallback(s.raw)),
      cell(omni, m.unit, sideFallback(s.omnibus)),
      r === undefined ? "—" : r.toFixed(2),
      added,
      ...(first
        ? [
            med(s.raw.summary.cpuUsPerMsg, "µs"),
            med(s.omnibus.summary.cpuUsPerMsg, "µs"),
            c === undefined ? "—" : c.toFixed(2),
            med(s.raw.summary.peakRssMB, "MB"),
            med(s.omnibus.summary.peakRssMB, "MB"),
          ]
        : ["", "", "", "", ""]),
    ]);
  }
  if (rows.length > 1) lines.push(...table(rows));
  if (b.tracing) lines.push(...tracingTable(b));
  for (const n of b.notes) lines.push(`  note: ${n}`);
  return lines.join("\n");
}

/** The tracing scenario: e2e msg/s and CPU per message of each telemetry mode, and each over off's. */
function tracingTable(b: BrokerResult): string[] {
  const t = b.tracing!;
  if (t.skipped) return [`  tracing: skipped (${t.skipped})`];
  const rows: string[][] = [
    [
      "tracing (e2e, Omnibus)",
      "msg/s median [min–max]",
      "msg/s ÷ off",
      "cpu µs/msg median [min–max]",
      "cpu ÷ off",
      "peak RSS MB",
    ],
  ];
  for (const mode of TRACING_MODES) {
    const side = t.modes[mode];
    const tr = tracingRatio(t, mode, "throughput");
    const cr = tracingRatio(t, mode, "cpuUsPerMsg");
    rows.push([
      TRACING_LABELS[mode],
      cell(side.summary.throughput, "msg/s", sideFallback(side)),
      tr === undefined ? "—" : tr.toFixed(2),
      cell(side.summary.cpuUsPerMsg, "µs", sideFallback(side)),
      cr === undefined ? "—" : cr.toFixed(2),
      med(side.summary.peakRssMB, "MB"),
    ]);
  }
  const out = ["", ...table(rows)];
  if (t.spansPerMessage !== undefined)
    out.push(`  (the SDK exported ${t.spansPerMessage.toFixed(2)} spans per message)`);
  return out;
}

export function textReport(report: BenchReport): string {
  const head = `Omnibus bench ${report.startedAt} — ${report.machine.cpus} CPU(s), ${report.machine.cpuModel}, Node ${report.machine.node}
${report.options.workload.messages} × ${report.options.workload.size} B, window ${report.options.workload.window}, rpc ${report.options.workload.rpcCount}, stream ${report.options.workload.streamRate} msg/s × ${report.options.workload.streamSeconds} s, ${report.options.repeat} repeat(s); ratio = Omnibus / raw (throughput: higher is better; latency: lower is better); cpu = this process's user + sys µs per message over the measured window (rpc: per request), ratio raw / Omnibus (higher is better); peak RSS sampled during the run${report.options.omnibus?.claimCheckBytes === undefined ? "" : `\nOmnibus with the claim check: bodies over ${report.options.omnibus.claimCheckBytes} B go through a file store (the raw clients send them whole)`}`;
  return [head, ...report.brokers.map(brokerTable)].join("\n\n");
}

/** Write `<dir>/<timestamp>.json`, `latest.json` and `latest.svg`; returns their paths. */
export async function writeResults(
  report: BenchReport,
  dir: string,
): Promise<{ json: string; latest: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, "-");
  const json = path.join(dir, `${stamp}.json`);
  const latest = path.join(dir, "latest.json");
  const svg = path.join(dir, "latest.svg");
  const text = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(json, text);
  await writeFile(latest, text);
  await writeFile(svg, await renderSvg(benchChartSpec(report)));
  return { json, latest, svg };
}
