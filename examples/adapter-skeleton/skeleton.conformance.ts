// The conformance options as a module, for the CLI (no vitest needed):
//   pnpm exec omnibus-conformance ./skeleton.conformance.ts --report report.html
import type { ConformanceOptions } from "@omnibus/conformance";
import { skeleton } from "./src/index.js";

export const conformance: ConformanceOptions = {
  name: "skeleton",
  adapter: () => skeleton({ name: "conformance", leaseMs: 2_000 }),
  leaseMs: 2_000,
};
