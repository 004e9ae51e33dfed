/**
 * The bench's charts, drawn with Vega-Lite (compiled to Vega and rendered to SVG without a
 * browser or canvas): the raw-vs-Omnibus bars of a bench report, and the curves of a curves
 * report (`--curves`). Every data mark (bar, point) carries its row's `label` as its SVG
 * `aria-label` (Vega-Lite's `description` channel), which {@link markLabels} reads back, so a test
 * can check that a chart shows exactly the points of the JSON it was drawn from.
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { CURVES, type CurvesReport } from "./curves.js";
import { CPU_METRICS, METRICS } from "./harness.js";
import { type BenchReport, cpuRatio, ratio } from "./run.js";

/** The colours of the two sides, raw first. */
const SIDES = { domain: ["raw", "omnibus"], range: ["#9aa0a6", "#1a73e8"] };

/** Figures as the charts show them (and as their `aria-label`s hold them): one decimal. */
export function rounded(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/**
 * The `aria-label`s of the marks of one kind (`"bar"`, `"point"`: Vega's `aria-roledescription`)
 * in an SVG drawn by {@link renderSvg}: the `label` of each row drawn.
 */
export function markLabels(svg: string, kind: "bar" | "point"): string[] {
  const out: string[] = [];
  for (const m of svg.matchAll(/<[a-z]+ [^>]*>/g)) {
    if (!m[0].includes(`aria-roledescription="${kind}"`)) continue;
    const label = /aria-label="([^"]*)"/.exec(m[0])?.[1];
    if (label !== undefined)
      out.push(
        label
          .replace(/&lt;/g, "<")
          .replace(/&gt;/g, ">")
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&amp;/g, "&"),
      );
  }
  return out;
}

/** One bar of the bench chart: a side's median of one metric on one broker, with its spread. */
export interface BarRow {
  readonly panel: string;
  /** The broker and the ratio (Omnibus / raw; CPU raw / Omnibus), e.g. `"redis 0.98×"`. */
  readonly broker: string;
  readonly side: "raw" | "omnibus";
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** What the bar's `aria-label` says: panel, broker, side, median, min–max. */
  readonly label: string;
}

/** The bars of a bench report: every metric that ran, every broker, both sides where measured. */
export function benchRows(report: BenchReport): BarRow[] {
  const rows: BarRow[] = [];
  for (const m of [...METRICS, ...CPU_METRICS]) {
    for (const b of report.brokers) {
      const s = b.scenarios[m.scenario];
      if (b.skipped || !s) continue;
      const r = m.metric === "cpuUsPerMsg" ? cpuRatio(s) : ratio(s, m.metric);
      const broker = r === undefined ? b.broker : `${b.broker} ${r.toFixed(2)}×`;
      for (const side of ["raw", "omnibus"] as const) {
        const v = s[side].summary[m.metric];
        if (!v) continue;
        const panel = `${m.label} (${m.unit}, ${m.better} is better)`;
        const [median, min, max] = [rounded(v.median), rounded(v.min), rounded(v.max)];
        const label = `${panel}, ${broker}, ${side}: ${median} (${min}–${max})`;
        rows.push({ panel, broker, side, median, min, max, label });
      }
    }
  }
  return rows;
}

/**
 * The bench chart: a panel per metric, per broker a raw bar (grey) and an Omnibus bar (blue), the
 * medians with min–max whiskers, the ratio after the broker's name.
 */
export function benchChartSpec(report: BenchReport): TopLevelSpec {
  const w = report.options.workload;
  const side = { field: "side", type: "nominal", sort: SIDES.domain, title: null } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `Omnibus vs raw clients — ${report.startedAt.slice(0, 16).replace("T", " ")} UTC`,
      subtitle: `${w.messages} × ${w.size} B; median of ${report.options.repeat}, whiskers min–max; after the broker: Omnibus / raw (CPU: raw / Omnibus). ${report.machine.cpus} CPU(s), Node ${report.machine.node}`,
    },
    data: { values: benchRows(report) as unknown as Record<string, unknown>[] },
    facet: { field: "panel", type: "nominal", title: null, sort: null },
    columns: 2,
    resolve: { scale: { y: "independent", x: "independent" } },
    spec: {
      width: 380,
      height: 180,
      encoding: {
        x: { field: "broker", type: "nominal", title: null, sort: null, axis: { labelAngle: -30 } },
        xOffset: side,
      },
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { field: "median", type: "quantitative", title: null },
            color: { ...side, scale: SIDES },
            description: { field: "label" },
          },
        },
        {
          mark: { type: "rule", color: "#333", aria: false },
          encoding: { y: { field: "min", type: "quantitative" }, y2: { field: "max" } },
        },
      ],
    },
  };
}

/** One point of the curves chart: a side's median e2e msg/s at one value of a curve's parameter. */
export interface CurveRow {
  readonly broker: string;
  readonly curve: string;
  readonly x: number;
  readonly side: "raw" | "omnibus";
  readonly msgPerS: number;
  /** What the point's `aria-label` says: broker, curve and value, side, msg/s. */
  readonly label: string;
}

/** The points of a curves report: every broker, curve, parameter value and side that has a median. */
export function curveRows(report: CurvesReport): CurveRow[] {
  const rows: CurveRow[] = [];
  for (const b of report.brokers) {
    for (const c of b.curves) {
      for (const p of c.points) {
        for (const side of ["raw", "omnibus"] as const) {
          const v = p[side]?.throughput;
          if (!v) continue;
          const msgPerS = rounded(v.median);
          const label = `${b.broker}, ${c.label} ${p.x}, ${side}: ${msgPerS} msg/s`;
          rows.push({ broker: b.broker, curve: c.label, x: p.x, side, msgPerS, label });
        }
      }
    }
  }
  return rows;
}

/**
 * The curves chart: a row per broker and a column per curve (consumers, body size, Kafka
 * partitions), e2e msg/s against the parameter (log scale, base 2), a line per side.
 */
export function curvesChartSpec(report: CurvesReport): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `How e2e throughput grows — ${report.startedAt.slice(0, 16).replace("T", " ")} UTC`,
      subtitle: `${report.options.messages} messages per run (fewer for large bodies: at most ${report.options.maxBytes / 2 ** 20} MiB), median of ${report.options.repeat}, raw and Omnibus alternating. ${report.machine.cpus} CPU(s), Node ${report.machine.node}`,
    },
    data: { values: curveRows(report) as unknown as Record<string, unknown>[] },
    facet: {
      row: { field: "broker", type: "nominal", title: null, sort: null },
      column: {
        field: "curve",
        type: "nominal",
        title: null,
        sort: Object.values(CURVES).map((c) => c.label),
      },
    },
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: {
      width: 220,
      height: 150,
      mark: { type: "line", point: true },
      encoding: {
        description: { field: "label" },
        x: { field: "x", type: "quantitative", scale: { type: "log", base: 2 }, title: null },
        y: { field: "msgPerS", type: "quantitative", title: "msg/s" },
        color: { field: "side", type: "nominal", sort: SIDES.domain, scale: SIDES, title: null },
      },
    },
  };
}
