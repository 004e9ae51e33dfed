import { writeFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Tier } from "./case.js";
import { type ConformanceOptions, resolveConformanceOptions } from "./options.js";
import { buildReport, type ConformanceReport, htmlReport, resultLine, summaryLine } from "./report.js";
import { declaredFeatures, runCases } from "./runner.js";

/** Options of {@link runConformance}. */
export interface RunConformanceOptions {
  /**
   * A module whose export (see `exportName`) is the adapter's `ConformanceOptions`: `{ name,
   * adapter, … }`. TypeScript modules are loaded too. Relative paths start at the working directory.
   */
  module: string;
  /** The export holding the options. @default "conformance" */
  exportName?: string;
  /** Only cases whose id or title contains this (or matches it, as a RegExp). */
  filter?: string | RegExp;
  /** Only these tiers. @default both */
  tiers?: readonly Tier[];
  /** Stop at the first failing case. @default false */
  bail?: boolean;
  /** Cases at a time (the restart and cut cases alone). @default the module's `concurrency`, or 1 */
  concurrency?: number;
  /** Write the report as JSON here. */
  json?: string;
  /** Write the report as a self-contained HTML page here. */
  html?: string;
  /** Where progress lines go. @default process.stdout */
  write?: (line: string) => void;
}

/** Load the options a module exports (a `.ts` module through tsx). */
export async function loadConformanceModule(
  module: string,
  exportName = "conformance",
): Promise<ConformanceOptions> {
  const target = isAbsolute(module) ? module : resolve(process.cwd(), module);
  const url = pathToFileURL(target).href;
  let mod: Record<string, unknown>;
  if (/\.[cm]?tsx?$/.test(target)) {
    const { tsImport } = await import("tsx/esm/api");
    mod = (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  } else {
    mod = (await import(url)) as Record<string, unknown>;
  }
  const options = mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName];
  if (!options) throw new Error(`${module} has no export "${exportName}" (the adapter's ConformanceOptions)`);
  return options as ConformanceOptions;
}

/**
 * Run the conformance suite on an adapter from a script, without any test framework: every case
 * is printed with its result (passed, failed and why, skipped and why, not run), and the report
 * can be written as JSON and HTML. Resolves with the report; `report.totals.failed` is 0 when every
 * case that ran passed.
 *
 * @example
 * ```ts
 * // my-adapter.conformance.ts
 * export const conformance = { name: "mybroker", adapter: () => mybroker({ url: "mybroker://localhost" }) };
 * // shell: npx omnibus-conformance ./my-adapter.conformance.ts --report report.html
 * ```
 */
export async function runConformance(options: RunConformanceOptions): Promise<ConformanceReport> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const conformance = await loadConformanceModule(options.module, options.exportName);
  const resolved = resolveConformanceOptions(conformance);
  const features = declaredFeatures(resolved);
  write(`conformance of ${resolved.name}: ${JSON.stringify(features)}`);
  const started = Date.now();
  const results = await runCases(conformance, {
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    ...(options.tiers ? { tiers: options.tiers } : {}),
    stopOnFirstFailure: options.bail ?? false,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    onResult: (r) => write(resultLine(r)),
  });
  const report = buildReport(resolved.name, features, results, Date.now() - started);
  write(summaryLine(report));
  if (options.json)
    writeFileSync(
      options.json,
      `${JSON.stringify(report, (_k, v) => (v === Infinity ? "Infinity" : v), 2)}\n`,
    );
  if (options.html) writeFileSync(options.html, htmlReport(report));
  return report;
}
