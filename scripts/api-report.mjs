#!/usr/bin/env node
// The API reports of @omnibus/core (API Extractor): one per entry point, checked in under
// packages/core/api/ — core.api.md (`@omnibus/core`), core-adapter.api.md (`@omnibus/core/adapter`),
// core-testing.api.md (`@omnibus/core/testing`). Each is every exported declaration with its full
// signature, read from the built .d.ts files (run after `tsc -b`).
//   node scripts/api-report.mjs           check: exit 1 when a public signature changed and its
//                                         report was not rewritten (what pnpm test runs)
//   node scripts/api-report.mjs --write   rewrite the reports (`pnpm api`); commit them with the change
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const core = join(root, "packages", "core");
const write = process.argv.includes("--write");
const configs = ["api-extractor.json", "api-extractor.adapter.json", "api-extractor.testing.json"];
const bin = join(root, "node_modules", ".bin", "api-extractor");

mkdirSync(join(root, ".omnibus", "api-extractor"), { recursive: true });
let failed = 0;
for (const config of configs) {
  const run = spawnSync(bin, ["run", ...(write ? ["--local"] : []), "-c", config], {
    cwd: core,
    encoding: "utf8",
  });
  const out = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  if (run.status === 0) {
    process.stdout.write(`${config}: ${write ? "written" : "unchanged"}\n`);
    continue;
  }
  failed++;
  process.stdout.write(`${config}: ${write ? "failed" : "the public API changed"}\n${out}\n`);
}
if (failed > 0 && !write) {
  process.stdout.write(
    "\nThe public API of @omnibus/core is not what packages/core/api/*.api.md say. If the change is meant, run `pnpm api` and commit the reports with it (the diff is the API change a reviewer reads).\n",
  );
}
process.exit(failed === 0 ? 0 : 1);
