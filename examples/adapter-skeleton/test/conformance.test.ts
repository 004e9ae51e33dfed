import { describeConformance } from "@omnibus/conformance";
import { skeleton } from "../src/index.js";

// Both tiers: the SPI cases drive the adapter directly, the client cases run createClient on it.
describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "skeleton",
  adapter: () => skeleton({ name: "conformance", leaseMs: 2_000 }),
  // The lease the adapter runs with: adapter/lease holds a delivery for three of them and
  // requires that no other consumer gets it (the consumer must extend it).
  leaseMs: 2_000,
  // No `unreachable`: an in-process store cannot be unreachable. A real adapter gives one:
  // unreachable: (password) => mybroker({ url: `mybroker://u:${password}@127.0.0.1:1` }),
});
