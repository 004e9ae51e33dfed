/**
 * `@omnibus/cli`: the `omnibus` command (`omnibus stats`, `omnibus dlq list|show|replay|purge`),
 * and the same as functions for scripts and tests.
 * @module
 */
export type { DeadLetterView, DlqOptions } from "./dlq.js";
export { dlqName, REPLAYS_HEADER } from "./dlq.js";
export type { Io } from "./io.js";
export { Exit, UsageError } from "./io.js";
export { main, run } from "./main.js";
export type { StatsCommandOptions } from "./stats.js";
export { parseSource } from "./stats.js";
