import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Options of {@link runConformance}. */
export interface RunConformanceOptions {
  /**
   * A module whose export (see `exportName`) is a `ConformanceOptions` object: `{ name, adapter,
   * unreachable?, redeliveryAfterMs?, timeScale? }`. Relative paths start at the working directory.
   */
  module: string;
  /** The export holding the options. @default "conformance" */
  exportName?: string;
  /** Only run cases whose name matches. */
  filter?: string;
}

/**
 * Run the conformance suite on an adapter from a script, outside any vitest setup of your own:
 * writes a one-line test file that calls `describeConformance` with your module's options, and
 * runs vitest on it. Resolves with vitest's exit code (0 when every case passed).
 *
 * @example
 * ```ts
 * // my-adapter.conformance.ts
 * export const conformance = { name: "mybroker", adapter: () => mybroker({ url: "mybroker://localhost" }) };
 * // shell: npx omnibus-conformance ./my-adapter.conformance.ts
 * ```
 */
export async function runConformance(options: RunConformanceOptions): Promise<number> {
  const target = isAbsolute(options.module) ? options.module : resolve(process.cwd(), options.module);
  const exportName = options.exportName ?? "conformance";
  const dir = mkdtempSync(join(tmpdir(), "omnibus-conformance-"));
  const file = join(dir, "conformance.test.mjs");
  const suite = pathToFileURL(
    join(import.meta.dirname, `index${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`),
  ).href;
  writeFileSync(
    file,
    `import { describeConformance } from ${JSON.stringify(suite)};\n` +
      `import * as target from ${JSON.stringify(pathToFileURL(target).href)};\n` +
      `const options = target[${JSON.stringify(exportName)}];\n` +
      `if (!options) throw new Error(${JSON.stringify(`${options.module} has no export "${exportName}"`)});\n` +
      "describeConformance(options);\n",
  );
  try {
    const { startVitest } = await import("vitest/node");
    const vitest = await startVitest("test", [], {
      root: dir,
      include: ["conformance.test.mjs"],
      watch: false,
      testTimeout: 120_000,
      hookTimeout: 120_000,
      ...(options.filter ? { testNamePattern: options.filter } : {}),
    });
    await vitest?.close();
    return process.exitCode === undefined || process.exitCode === 0 ? 0 : Number(process.exitCode);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
