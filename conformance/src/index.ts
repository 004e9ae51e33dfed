/**
 * `@omnibus/conformance`: the suite every Omnibus adapter passes against its real broker.
 * @module
 * @mergeModuleWith <project>
 */

export {
  ConformanceFailure,
  check,
  equal,
  fail,
  idDifference,
  rejectsWith,
  sameBytes,
  sameIds,
  within,
} from "./assert.js";
export type {
  AdapterCaseContext,
  Case,
  CaseContext,
  CaseEnv,
  ClientCaseContext,
  Received,
  Recorder,
  RecorderOptions,
  Tier,
} from "./case.js";
export { adapterCase, clientCase } from "./case.js";
export { adapterCases, allCases, clientCases } from "./cases/index.js";
export type {
  ConformanceOptions,
  ProxyHarness,
  ResolvedConformanceOptions,
  RestartHarness,
} from "./options.js";
export { resolveConformanceOptions } from "./options.js";
export type { TcpProxy, TcpProxyOptions } from "./proxy.js";
export { tcpProxy } from "./proxy.js";
export type { ConformanceReport } from "./report.js";
export { buildReport, htmlReport, resultLine, summaryLine } from "./report.js";
export type { RunConformanceOptions } from "./run.js";
export { loadConformanceModule, runConformance } from "./run.js";
export type { CaseResult, CaseStatus, RunCasesOptions } from "./runner.js";
export { runCase, runCases } from "./runner.js";
export type { FaultReport, StreamFault, StreamOptions, StreamReport } from "./stream.js";
export { runStream } from "./stream.js";
export type { DescribeConformanceOptions } from "./suite.js";
export { describeAdapterConformance, describeConformance } from "./suite.js";
