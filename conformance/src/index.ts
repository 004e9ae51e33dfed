/**
 * `@omnibus/conformance`: the suite every Omnibus adapter passes against its real broker.
 * @module
 */
export { conformanceCases, describeConformance } from "./suite.js";
export type { ConformanceOptions } from "./suite.js";
