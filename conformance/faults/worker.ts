/**
 * One fault run: the suite on the memory adapter with one fault in (or none, "baseline"),
 * stopping at the first failing case. Prints one `@@RESULT <json>` line. Run by `score.ts`, in
 * the repository for SPI faults and in a patched temporary copy for core and broker faults.
 * @module
 */
import { memory } from "@omnibus/memory";
import type { ConformanceOptions } from "../src/options.js";
import { runCases } from "../src/runner.js";
import { LEASE_MS, spiFaults, unreachableSubject } from "./inject.js";
import { faulty } from "./wrap.js";

const id = process.argv[2] ?? "baseline";
const hooks = spiFaults[id];
const crashes: string[] = [];
process.on("unhandledRejection", (reason) =>
  crashes.push(`unhandled rejection: ${String((reason as Error)?.stack ?? reason)}`),
);
process.on("uncaughtException", (error) =>
  crashes.push(`uncaught exception: ${String(error?.stack ?? error)}`),
);

const subject: ConformanceOptions = {
  name: `memory with ${id}`,
  adapter: () => {
    const inner = memory({ name: "faults" });
    return hooks ? faulty(inner, hooks(inner)) : inner;
  },
  unreachable: (password) => unreachableSubject(password, id),
  unreachableWithinMs: 2_000,
  leaseMs: LEASE_MS,
  redeliveryAfterMs: 1_000,
  redeliveryBoundMs: 500,
};

const results = await runCases(subject, { stopOnFirstFailure: id !== "baseline" });
process.stdout.write(
  `@@RESULT ${JSON.stringify({
    fault: id,
    crashes,
    results: results
      .filter((r) => r.status !== "filtered")
      .map(({ id: c, status, message, ms }) => ({ id: c, status, message, ms })),
  })}\n`,
);
process.exit(0);
