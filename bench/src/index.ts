/**
 * `@omnibus/bench`: Omnibus against the raw broker clients, side by side. Run it with
 * `pnpm bench` (see README.md); the functions here are what the CLI and the smoke test use.
 * @module
 */

export type { OmnibusTuning } from "./brokers.js";
export { adapterLanded, omnibusUrl } from "./brokers.js";
export type { MetricName, MetricSpec, RunResult, SideResult } from "./harness.js";
export { METRICS } from "./harness.js";
export type { CliOptions } from "./options.js";
export { parseCli, USAGE } from "./options.js";
export { brokerTable, svgChart, textReport, writeResults } from "./report.js";
export type { BenchOptions, BenchReport, BrokerResult, ScenarioResult } from "./run.js";
export { ratio, runBench } from "./run.js";
export type { BrokerName, Driver, ScenarioName, Workload } from "./types.js";
export { BROKERS, SCENARIOS } from "./types.js";
