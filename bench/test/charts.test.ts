import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  type BenchReport,
  benchChartSpec,
  benchRows,
  type CurvesReport,
  curveRows,
  curvesChartSpec,
  markLabels,
  renderSvg,
} from "../src/index.js";

const sorted = (xs: readonly string[]) => [...xs].sort();
const summary = (median: number) => ({ median, min: median * 0.9, max: median * 1.1 });
const side = (throughput: number, cpu: number) => ({
  runs: [],
  summary: { throughput: summary(throughput), cpuUsPerMsg: summary(cpu) },
});

/** A report as runBench writes it, two brokers with e2e and send (one without a raw side). */
const report = {
  startedAt: "2026-12-02T18:00:00.000Z",
  finishedAt: "2026-12-02T18:05:00.000Z",
  machine: { cpus: 2, cpuModel: "test", node: "v20.0.0", platform: "linux", totalMemMB: 1 },
  options: {
    brokers: ["redis", "memory"],
    scenarios: ["e2e", "send"],
    repeat: 3,
    workload: {
      messages: 100,
      size: 256,
      window: 10,
      rpcCount: 1,
      streamRate: 1,
      streamSeconds: 1,
      deadlineMs: 1,
    },
  },
  brokers: [
    {
      broker: "redis",
      url: "redis://127.0.0.1:6379",
      notes: [],
      workload: {},
      scenarios: {
        e2e: { raw: side(46_460.25, 21.04), omnibus: side(46_405.5, 22.5) },
        send: { raw: side(89_437, 9.3), omnibus: side(76_461, 11.1) },
      },
    },
    {
      broker: "memory",
      url: "memory://bench",
      notes: [],
      workload: {},
      scenarios: {
        e2e: { raw: { runs: [], summary: {}, skipped: "no raw client" }, omnibus: side(120_000, 8) },
      },
    },
  ],
} as unknown as BenchReport;

const point = (x: number, raw: number, omnibus: number) => ({
  x,
  messages: 100,
  raw: { throughput: summary(raw) },
  omnibus: { throughput: summary(omnibus) },
});

const curves: CurvesReport = {
  startedAt: "2026-12-02T18:00:00.000Z",
  finishedAt: "2026-12-02T18:05:00.000Z",
  machine: { cpus: 2, cpuModel: "test", node: "v20.0.0" },
  options: { brokers: ["kafka"], repeat: 3, messages: 100, maxBytes: 2 ** 28 },
  brokers: [
    {
      broker: "kafka",
      url: "kafka://127.0.0.1:9092",
      curves: [
        {
          name: "consumers",
          label: "consumers",
          points: [point(1, 100, 90), point(2, 180, 170.04), point(4, 250, 240)],
        },
        // A point where Omnibus failed has only the raw side.
        {
          name: "size",
          label: "body bytes",
          points: [
            point(256, 100, 95),
            { x: 4096, messages: 100, raw: { throughput: summary(50) }, omnibus: { errors: ["lost 1"] } },
          ],
        },
        { name: "partitions", label: "Kafka partitions", points: [point(1, 40, 38), point(3, 100, 96)] },
      ],
    },
  ],
};

describe("charts (Vega-Lite, rendered to SVG)", () => {
  it("the bench chart has one bar per side, broker and metric measured, each with its figures", async () => {
    const svg = await renderSvg(benchChartSpec(report));
    expect(svg.startsWith("<svg")).toBe(true);
    const rows = benchRows(report);
    // redis: 4 metrics × 2 sides; memory: 2 metrics (e2e msg/s and CPU), Omnibus only.
    expect(rows.length).toBe(10);
    expect(sorted(markLabels(svg, "bar"))).toEqual(sorted(rows.map((r) => r.label)));
    expect(rows.map((r) => r.label)).toContain(
      "e2e throughput (msg/s, higher is better), redis 1.00×, raw: 46460.3 (41814.2–51106.3)",
    );
    expect(svg).toContain("e2e CPU per message");
  });

  it("the curves chart has one point per broker, curve, value and side measured", async () => {
    const svg = await renderSvg(curvesChartSpec(curves));
    const rows = curveRows(curves);
    expect(rows.length).toBe(3 * 2 + 3 + 2 * 2);
    expect(sorted(markLabels(svg, "point"))).toEqual(sorted(rows.map((r) => r.label)));
    expect(rows.map((r) => r.label)).toContain("kafka, consumers 2, omnibus: 170 msg/s");
  });

  it("a chart that lost a point, or shows one the JSON does not have, is told apart", async () => {
    const svg = await renderSvg(curvesChartSpec(curves));
    const labels = sorted(markLabels(svg, "point"));
    const fewer = structuredClone(curves);
    fewer.brokers[0]!.curves[0]!.points.pop();
    expect(labels).not.toEqual(sorted(curveRows(fewer).map((r) => r.label)));
    const other = structuredClone(curves);
    const first = other.brokers[0]!.curves[0]!.points;
    first[0] = { ...first[0]!, raw: { throughput: summary(101) } };
    expect(labels).not.toEqual(sorted(curveRows(other).map((r) => r.label)));
  });

  const committed = path.join(import.meta.dirname, "..", "charts");
  it("the committed chart (bench/charts/curves.svg) shows exactly the points of bench/charts/curves.json", async () => {
    const json = JSON.parse(await readFile(path.join(committed, "curves.json"), "utf8")) as CurvesReport;
    const svg = await readFile(path.join(committed, "curves.svg"), "utf8");
    const rows = curveRows(json);
    expect(rows.length).toBeGreaterThan(0);
    expect(sorted(markLabels(svg, "point"))).toEqual(sorted(rows.map((r) => r.label)));
  });
});
