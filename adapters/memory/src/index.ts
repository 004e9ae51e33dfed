/**
 * `@omnibus/memory`: the in-process broker, embedded default of `@omnibus/core`.
 * @module
 */

import { registerAdapter } from "@omnibus/core";
import { fromUrl } from "./adapter.js";

// Importing the package makes `memory://` URLs checked at createClient (core loads it lazily too).
registerAdapter("memory", { fromUrl });

export type { MemoryNative, MemoryOptions } from "./adapter.js";
export { fromUrl, memory } from "./adapter.js";
export { MemoryBroker, MemoryQueue, memoryBroker } from "./broker.js";
