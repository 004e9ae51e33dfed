/** The worker-pool example: load levelling over competing consumers. */
export { runWorkerPool } from "./pool.js";
export type { PoolOptions, PoolReport } from "./pool.js";
