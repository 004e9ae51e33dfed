#!/usr/bin/env node
// `pnpm test`: the full suite on a fresh machine.
//  1. installs the workspace if needed (pnpm install --frozen-lockfile);
//  2. type-checks every package (tsc -b), lints (biome check, then jscpd: no copy-paste in src/),
//     checks core's public API against its API reports (scripts/api-report.mjs) and, on a full run, builds the API
//     reference (TypeDoc into .omnibus/docs; a TypeDoc warning fails the run);
//  3. brings up every broker the suite needs (pnpm brokers up: env URL, running service,
//     local server from Debian/Maven packages, or a container), failing loudly if one can't be had;
//  4. runs vitest over the workspace and prints a one-line summary;
//  5. on a full run, scores the conformance suite against its seeded faults (pnpm conformance:faults);
//  6. lists, per shared broker, the destinations the run left behind (scripts/leftovers.mjs).
// Extra arguments go to vitest (e.g. `pnpm test --project rabbitmq`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const started = Date.now();

function step(title, command, commandArgs, options = {}) {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, commandArgs, {
    cwd: root,
    stdio: "inherit",
    env: process.env,
    ...options,
  });
  if (result.status !== 0) {
    process.stdout.write(`\n${title} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(join(root, "node_modules", ".modules.yaml"))) {
  step("install", "pnpm", ["install", "--frozen-lockfile"]);
}
step("type check (tsc -b)", "pnpm", ["exec", "tsc", "-b"]);
step("lint (biome check)", "pnpm", ["exec", "biome", "check", "."]);
step("copy-paste check (jscpd, .jscpd.json)", "pnpm", ["exec", "jscpd"]);
// The public API of @omnibus/core against its checked-in reports (packages/core/api/*.api.md).
step("API report (api-extractor; pnpm api rewrites it)", "node", ["scripts/api-report.mjs"]);
// The API reference from TSDoc (`pnpm run docs`: typedoc.json, a warning is an error; plain
// `pnpm docs` is pnpm's own command, handed to `npm docs`).
if (args.length === 0) {
  step("API docs (pnpm run docs)", "pnpm", ["--silent", "run", "docs"]);
}

// Which brokers: those of the projects asked for, or all of them.
const projectBrokers = {
  rabbitmq: ["rabbitmq"],
  kafka: ["kafka"],
  sqs: ["sqs", "sns"],
  nats: ["nats"],
  redis: ["redis"],
  pubsub: ["pubsub"],
  // fauxqs's S3 API, and the claim-check cases on SQS + SNS (fauxqs) and Redis.
  "s3-store": ["sns", "redis"],
  activemq: ["activemq"],
  postgres: ["postgres"],
  // scripts/test/tarball.test.ts runs the packed @omnibus/redis against the shared Redis.
  repo: ["redis"],
  "core-brokers": ["rabbitmq", "kafka", "sqs", "nats", "redis", "activemq", "postgres", "pubsub"],
  cli: ["rabbitmq", "redis"],
};
const projects = args.flatMap((a, i) =>
  a === "--project" ? [args[i + 1]] : a.startsWith("--project=") ? [a.slice(10)] : [],
);
const brokers =
  projects.length === 0 ||
  projects.includes("examples") ||
  projects.includes("conformance") ||
  projects.includes("brokers")
    ? []
    : [...new Set(projects.flatMap((p) => projectBrokers[p] ?? []))];
if (projects.length === 0 || brokers.length > 0) {
  step("brokers up", "pnpm", ["--silent", "brokers", "up", ...brokers]);
}

mkdirSync(join(root, ".omnibus"), { recursive: true });
const report = join(root, ".omnibus", "test-results.json");
// What is on the shared brokers before the tests, so that what they leave behind can be told
// apart afterwards (scripts/leftovers.mjs; other runs sharing the brokers may add to it).
const usesBrokers = projects.length === 0 || brokers.length > 0;
const before = join(root, ".omnibus", "leftovers-before.json");
// Each conformance case run writes its name token here (conformance/src/context.ts).
const runs = join(root, ".omnibus", "conformance-runs.txt");
writeFileSync(runs, "");
if (usesBrokers) {
  spawnSync("node", ["scripts/leftovers.mjs", "--save", before, "--show", "0"], {
    cwd: root,
    stdio: "ignore",
    env: process.env,
  });
}
const vitest = spawnSync(
  "pnpm",
  ["exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...args],
  { cwd: root, stdio: "inherit", env: { ...process.env, OMNIBUS_CONFORMANCE_RUNS_FILE: runs } },
);

// The suite's own fault score (conformance/faults): only on a full run.
let faults = { status: 0 };
if (args.length === 0 && vitest.status === 0) {
  process.stdout.write("\n== conformance fault score (pnpm conformance:faults)\n");
  faults = spawnSync("pnpm", ["--silent", "conformance:faults"], {
    cwd: root,
    stdio: "inherit",
    env: process.env,
  });
}

// What the tests left on the shared brokers: listed per broker, reported, not (yet) a failure.
if (usesBrokers && existsSync(before)) {
  process.stdout.write("\n== leftovers (node scripts/leftovers.mjs --since)\n");
  const list = (extra) =>
    spawnSync("node", ["scripts/leftovers.mjs", "--since", before, ...extra], {
      cwd: root,
      stdio: "inherit",
      env: process.env,
    });
  list(["--runs", runs]); // what this run's conformance cases left (they delete what they made)
  list([]); // everything new: this run's other tests, and any run sharing the brokers meanwhile
}

let summary = "";
try {
  const r = JSON.parse(readFileSync(report, "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  summary =
    `${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : "");
} catch {
  summary = "no test report was written";
}
process.stdout.write(`\n== done in ${Math.round((Date.now() - started) / 1000)} s\n`);
process.stdout.write(`tests: ${summary}\n`);
if (args.length === 0 && vitest.status === 0) {
  try {
    const f = JSON.parse(readFileSync(join(root, ".omnibus", "faults.json"), "utf8"));
    process.stdout.write(
      `fault score: ${f.caught} of ${f.seeded} seeded faults caught (${f.percent.toFixed(1)} %)\n`,
    );
  } catch {
    process.stdout.write("fault score: no result was written\n");
  }
}
process.exit(vitest.status === 0 ? (faults.status ?? 1) : (vitest.status ?? 1));
