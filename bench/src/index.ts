/**
 * `@omnibus/bench`: Omnibus against the raw broker clients, side by side. Run it with
 * `pnpm bench` (see README.md); the functions here are what the CLI and the smoke test use.
 * @module
 */

export type { OmnibusTuning } from "./brokers.js";
export { adapterLanded, omnibusUrl } from "./brokers.js";
export type { BarRow, CurveRow } from "./charts.js";
export {
  benchChartSpec,
  benchRows,
  curveRows,
  curvesChartSpec,
  markLabels,
  renderSvg,
  rounded,
} from "./charts.js";
export type { Curve, CurveName, CurvePoint, CurveSide, CurvesOptions, CurvesReport } from "./curves.js";
export { CURVES, curvesTable, runCurves, writeCurves } from "./curves.js";
export type { MetricName, MetricSpec, RunResult, SideResult } from "./harness.js";
export { METRIC_NAMES, METRICS } from "./harness.js";
export type { CliOptions } from "./options.js";
export { parseCli, USAGE } from "./options.js";
export { brokerTable, textReport, writeResults } from "./report.js";
export type { RunResources } from "./resources.js";
export type { BenchOptions, BenchReport, BrokerResult, ScenarioResult, TracingResult } from "./run.js";
export { cpuRatio, ratio, runBench, tracingRatio } from "./run.js";
export type { TracingMode, TracingRun } from "./tracing.js";
export { TRACING_LABELS, TRACING_MODES } from "./tracing.js";
export type { BrokerName, ComparedScenario, Driver, ScenarioName, Workload } from "./types.js";
export { BROKERS, SCENARIOS } from "./types.js";
