/**
 * Broker state for `client.stats`: the queue's own counters (ready; delivered and unsettled).
 * Messages waiting out a delay are not counted until they are ready.
 * @module
 */
import type { Source, SourceStats } from "@omnibus/core";
import type { MemoryBroker } from "./broker.js";

/** Depth and in-flight count of `source` on `broker`; zeros when it does not exist. */
export function memoryStats(broker: MemoryBroker, source: Source): SourceStats {
  const queue =
    source.kind === "queue" ? broker.findQueue(source.name) : broker.findGroup(source.name, source.group);
  return { depth: queue?.depth ?? 0, inFlight: queue?.inFlight ?? 0 };
}
