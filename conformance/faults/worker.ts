/**
 * One fault run: the suite on the memory adapter with one fault in (or none, "baseline"),
 * stopping at the first failing case. Prints one `@@RESULT <json>` line. Run by `score.ts`, in
 * the repository for SPI faults and in a patched temporary copy for core and broker faults.
 * @module
 */
import { memory } from "@omnibus/memory";
import type { CaseEnv } from "../src/case.js";
import { allCases } from "../src/cases/index.js";
import type { ConformanceOptions } from "../src/options.js";
import { resolveConformanceOptions } from "../src/options.js";
import { type CaseResult, caseLimiter, declaredFeatures, runCase } from "../src/runner.js";
import { LEASE_MS, LIVE_PASSWORD, spiFaults, unreachableSubject } from "./inject.js";
import { faulty } from "./wrap.js";

const id = process.argv[2] ?? "baseline";
const concurrency = Number(process.argv[3] ?? 1);
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
  password: LIVE_PASSWORD,
  unreachableWithinMs: 2_000,
  leaseMs: LEASE_MS,
  redeliveryAfterMs: 1_000,
  redeliveryBoundMs: 500,
  concurrency,
};

// Every case, `concurrency` at a time (exclusive ones alone). A fault run ends at the first case
// that fails or times out, without waiting for the cases still running beside it: the process
// exits, and their adapters with it.
const resolved = resolveConformanceOptions(subject);
const env: CaseEnv = { features: declaredFeatures(resolved), options: resolved };
const limit = caseLimiter(resolved.concurrency);
const results: CaseResult[] = [];
const report = () => {
  process.stdout.write(
    `@@RESULT ${JSON.stringify({
      fault: id,
      crashes,
      results: results.map(({ id: c, status, message, ms }) => ({ id: c, status, message, ms })),
    })}\n`,
  );
  process.exit(0);
};
await Promise.all(
  allCases.map((c) =>
    limit(c, () => runCase(c, env)).then((result) => {
      results.push(result);
      if (id !== "baseline" && (result.status === "failed" || result.status === "timed-out")) report();
    }),
  ),
);
results.sort((a, b) => allCases.findIndex((c) => c.id === a.id) - allCases.findIndex((c) => c.id === b.id));
report();
