import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { METRICS, type MetricSpec } from "./harness.js";
import { type BenchReport, type BrokerResult, ratio } from "./run.js";
import type { Summary } from "./stats.js";

type Unit = MetricSpec["unit"];

function num(value: number, unit: Unit): string {
  if (unit === "msg/s") return Math.round(value).toLocaleString("en-US");
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
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

/** The text table of one broker: raw, Omnibus (median [min–max]) and Omnibus / raw per metric. */
export function brokerTable(b: BrokerResult): string {
  const lines = [`${b.broker}  ${b.url}`];
  if (b.skipped) {
    lines.push(`  skipped: ${b.skipped}`);
    return lines.join("\n");
  }
  const rows: string[][] = [
    ["metric", "unit", "raw median [min–max]", "omnibus median [min–max]", "omnibus/raw", "added"],
  ];
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
    rows.push([
      m.label,
      m.unit,
      cell(raw, m.unit, sideFallback(s.raw)),
      cell(omni, m.unit, sideFallback(s.omnibus)),
      r === undefined ? "—" : r.toFixed(2),
      added,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(`  ${row.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd());
  for (const n of b.notes) lines.push(`  note: ${n}`);
  return lines.join("\n");
}

export function textReport(report: BenchReport): string {
  const head = `Omnibus bench ${report.startedAt} — ${report.machine.cpus} CPU(s), ${report.machine.cpuModel}, Node ${report.machine.node}
${report.options.workload.messages} × ${report.options.workload.size} B, window ${report.options.workload.window}, rpc ${report.options.workload.rpcCount}, stream ${report.options.workload.streamRate} msg/s × ${report.options.workload.streamSeconds} s, ${report.options.repeat} repeat(s); ratio = Omnibus / raw (throughput: higher is better; latency: lower is better)${report.options.omnibus?.claimCheckBytes === undefined ? "" : `\nOmnibus with the claim check: bodies over ${report.options.omnibus.claimCheckBytes} B go through a file store (the raw clients send them whole)`}`;
  return [head, ...report.brokers.map(brokerTable)].join("\n\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * A hand-written SVG: one panel per metric, per broker a raw bar (grey) and an Omnibus bar
 * (blue), medians with min–max whiskers, and the ratio above each pair.
 */
export function svgChart(report: BenchReport): string {
  const brokers = report.brokers.filter((b) => !b.skipped);
  const metrics = METRICS.filter((m) => brokers.some((b) => b.scenarios[m.scenario]));
  const cols = 2;
  const panelW = 460;
  const panelH = 250;
  const top = 60;
  const rowsN = Math.ceil(metrics.length / cols);
  const width = cols * panelW + 20;
  const height = top + rowsN * panelH + 30;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="16" font-weight="bold">Omnibus vs raw clients — ${esc(report.startedAt.slice(0, 16).replace("T", " "))} UTC</text>`,
    `<text x="10" y="40" fill="#555">${report.options.workload.messages} × ${report.options.workload.size} B; median of ${report.options.repeat}, whiskers min–max; label = Omnibus / raw. ${report.machine.cpus} CPU(s), Node ${esc(report.machine.node)}</text>`,
    `<rect x="${width - 190}" y="12" width="12" height="12" fill="#9aa0a6"/><text x="${width - 172}" y="22">raw client</text>`,
    `<rect x="${width - 100}" y="12" width="12" height="12" fill="#1a73e8"/><text x="${width - 82}" y="22">Omnibus</text>`,
  );
  metrics.forEach((m, k) => {
    const x0 = 10 + (k % cols) * panelW;
    const y0 = top + Math.floor(k / cols) * panelH;
    out.push(...panel(m, brokers, x0, y0, panelW - 20, panelH - 20));
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function panel(
  m: MetricSpec,
  brokers: BrokerResult[],
  x0: number,
  y0: number,
  w: number,
  h: number,
): string[] {
  const out: string[] = [];
  const title = `${m.label} (${m.unit}, ${m.better} is better)`;
  out.push(`<g><rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#fafafa" stroke="#ddd"/>`);
  out.push(`<text x="${x0 + 8}" y="${y0 + 16}" font-weight="bold">${esc(title)}</text>`);
  const plotTop = y0 + 40;
  const plotBottom = y0 + h - 24;
  const plotH = plotBottom - plotTop;
  const entries = brokers.map((b) => ({ b, s: b.scenarios[m.scenario] }));
  let max = 0;
  for (const { s } of entries) {
    for (const side of [s?.raw, s?.omnibus]) {
      const v = side?.summary[m.metric];
      if (v) max = Math.max(max, v.max);
    }
  }
  if (max <= 0) max = 1;
  const slot = (w - 20) / Math.max(1, entries.length);
  const barW = Math.min(28, slot / 3);
  const y = (v: number) => plotBottom - (v / max) * plotH;
  out.push(`<line x1="${x0 + 10}" y1="${plotBottom}" x2="${x0 + w - 10}" y2="${plotBottom}" stroke="#888"/>`);
  out.push(
    `<text x="${x0 + w - 10}" y="${plotTop - 6}" text-anchor="end" fill="#777">max ${esc(num(max, m.unit))}</text>`,
  );
  entries.forEach(({ b, s }, i) => {
    const cx = x0 + 10 + slot * i + slot / 2;
    out.push(`<text x="${cx}" y="${plotBottom + 14}" text-anchor="middle">${esc(b.broker)}</text>`);
    const sides = [
      { side: s?.raw, color: "#9aa0a6", dx: -barW - 1 },
      { side: s?.omnibus, color: "#1a73e8", dx: 1 },
    ];
    for (const { side, color, dx } of sides) {
      const v = side?.summary[m.metric];
      const bx = cx + dx;
      if (!v) {
        const why = side?.skipped ? "n/a" : side?.runs.some((r) => r.error) ? "✗" : "";
        if (why)
          out.push(
            `<text x="${bx + barW / 2}" y="${plotBottom - 4}" text-anchor="middle" fill="#c00">${why}</text>`,
          );
        continue;
      }
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${y(v.median).toFixed(1)}" width="${barW.toFixed(1)}" height="${(plotBottom - y(v.median)).toFixed(1)}" fill="${color}"><title>${esc(`${b.broker}: ${num(v.median, m.unit)} ${m.unit} (min ${num(v.min, m.unit)}, max ${num(v.max, m.unit)})`)}</title></rect>`,
        `<line x1="${(bx + barW / 2).toFixed(1)}" y1="${y(v.min).toFixed(1)}" x2="${(bx + barW / 2).toFixed(1)}" y2="${y(v.max).toFixed(1)}" stroke="#333"/>`,
      );
    }
    const r = ratio(s, m.metric);
    if (r !== undefined) {
      const miss = m.better === "higher" ? r < 0.9 : false;
      const top = Math.min(
        ...[s?.raw, s?.omnibus].map((x) => (x?.summary[m.metric] ? y(x.summary[m.metric]!.max) : plotBottom)),
      );
      out.push(
        `<text x="${cx}" y="${(top - 5).toFixed(1)}" text-anchor="middle" font-weight="bold" fill="${miss ? "#c5221f" : "#188038"}">${r.toFixed(2)}×</text>`,
      );
    }
  });
  out.push("</g>");
  return out;
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
  await writeFile(svg, svgChart(report));
  return { json, latest, svg };
}
