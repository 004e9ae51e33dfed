import type { CaseEnv, Tier } from "./case.js";
import { allCases } from "./cases/index.js";
import { type ConformanceOptions, resolveConformanceOptions } from "./options.js";
import {
  type CaseResult,
  caseLimiter,
  caseTimeout,
  declaredFeatures,
  runCase,
  skipReason,
} from "./runner.js";

/** Options of {@link describeConformance}: the adapter's options plus the tiers to register. */
export interface DescribeConformanceOptions extends ConformanceOptions {
  /** @default both tiers */
  tiers?: readonly Tier[];
  /** Called with every case's result (for a report of your own). */
  onResult?: (result: CaseResult) => void;
}

/**
 * vitest, when it is installed: it is an optional peer (the CLI runs the cases without it), so the
 * package loads without it and only {@link describeConformance} needs it.
 */
const vitest: typeof import("vitest") | undefined = await import("vitest").catch(() => undefined);

/** Time a case may spend in cleanup (closing what it opened) on top of its own deadline. */
const CLEANUP_MARGIN_MS = 35_000;

/**
 * Register the conformance suite for an adapter with vitest: one test per case, named
 * `<case id>: <what it proves>`. Cases for features the adapter does not declare are skipped with
 * the reason in their name; every declared feature is tested. Call it at the top level of a test
 * file.
 *
 * @example
 * ```ts
 * import { describeConformance } from "@omnibus/conformance";
 * import { rabbitmq } from "@omnibus/rabbitmq";
 * describeConformance({ name: "rabbitmq", adapter: () => rabbitmq({ url: process.env.OMNIBUS_RABBITMQ_URL }) });
 * ```
 */
export function describeConformance(options: DescribeConformanceOptions): void {
  if (vitest === undefined) {
    throw new Error(
      "describeConformance registers vitest tests, and vitest is not installed: add vitest (^4.1) to your devDependencies, or run the cases without it with the omnibus-conformance CLI or runCases()",
    );
  }
  const { describe, it } = vitest;
  const resolved = resolveConformanceOptions(options);
  const env: CaseEnv = { features: declaredFeatures(resolved), options: resolved };
  const tiers = options.tiers ?? ["adapter", "client"];
  const cases = allCases.filter((c) => tiers.includes(c.tier));
  const concurrent = resolved.concurrency > 1;
  const limit = caseLimiter(resolved.concurrency);
  // A concurrent case may wait for a slot before its own deadline starts (runCase keeps that
  // deadline): vitest's timer then covers the wait too, up to every case before it.
  let waited = 0;
  describe(`conformance: ${resolved.name}`, () => {
    for (const c of cases) {
      const reason = skipReason(c, env);
      const title = `${c.id}: ${c.title}${reason === undefined ? "" : ` (skipped: ${reason})`}`;
      const own = caseTimeout(c, env) + CLEANUP_MARGIN_MS;
      // A case that does not apply is reported as skipped with its reason (a feature not declared).
      // vitest runs consecutive concurrent tests together and a plain one alone, after them.
      const together = concurrent && !c.exclusive;
      const register =
        reason !== undefined ? (together ? it.concurrent.skip : it.skip) : together ? it.concurrent : it;
      register(
        title,
        async () => {
          const result = await limit(c, () => runCase(c, env));
          options.onResult?.(result);
          // The case's notes (what it measured, the timeline of its faults) with the failure, so
          // that a CI log says more than the verdict.
          const notes = result.notes.length > 0 ? `\n  notes: ${result.notes.join("\n  ")}` : "";
          if (result.status !== "passed")
            throw new Error(`${c.id} ${result.status}: ${result.message}${notes}`);
        },
        concurrent ? own + waited : own,
      );
      if (reason === undefined) waited += own;
    }
  });
}

/** The SPI tier only: drive the `Adapter` directly, without core. */
export function describeAdapterConformance(options: ConformanceOptions): void {
  describeConformance({ ...options, tiers: ["adapter"] });
}
