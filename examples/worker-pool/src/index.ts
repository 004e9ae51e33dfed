/** The worker-pool example: load levelling over competing consumers. */

export type { PoolOptions, PoolReport } from "./pool.js";
export { runWorkerPool } from "./pool.js";
