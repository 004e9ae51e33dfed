/**
 * `@omnibus/conformance`: the suite every Omnibus adapter passes against its real broker.
 * @module
 */

export type { RunConformanceOptions } from "./run.js";
export { runConformance } from "./run.js";
export type { ConformanceOptions } from "./suite.js";
export { conformanceCases, describeConformance } from "./suite.js";
