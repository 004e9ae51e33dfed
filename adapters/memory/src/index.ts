/**
 * `@omnibus/memory`: the in-process broker, embedded default of `@omnibus/core`.
 * @module
 */

export type { MemoryNative, MemoryOptions } from "./adapter.js";
export { fromUrl, memory } from "./adapter.js";
export { MemoryBroker, MemoryQueue, memoryBroker } from "./broker.js";
