#!/usr/bin/env node
// `pnpm check:packages`: what npm would publish, checked as a user would receive it. Packs every
// published (non-private) workspace package with `pnpm pack` (its `prepack` builds a clean dist/
// from tsconfig.build.json) and runs on each tarball
//   - publint, every message counted (suggestions too, warnings as errors), and
//   - "are the types wrong" (attw) with the ESM-only profile: the packages are ESM only, so the
//     node10 and node16-from-CJS resolutions are not required.
// and checks that no test (compiled or source) is in a tarball: pnpm pack does not apply the
// "!**/*.test.*" of "files" inside a listed folder such as dist/src, and always packs files named
// readme*, so a tarball is clean only when prepack's dist/ is and "files" lists sources by glob.
// Prints one line per package, OK or its findings; exits 1 on any finding.
//   node scripts/check-packages.mjs [--pack-destination DIR] [@omnibus/core ...]
// With --pack-destination the tarballs are kept in DIR (the tarball test installs them from
// there); otherwise they go to a temporary directory that is removed at the end.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const destIndex = args.indexOf("--pack-destination");
const keep = destIndex >= 0 ? resolve(args[destIndex + 1] ?? "") : undefined;
if (destIndex >= 0 && !args[destIndex + 1]) {
  process.stderr.write("--pack-destination needs a directory\n");
  process.exit(2);
}
const only = args.filter((_, i) => destIndex < 0 || (i !== destIndex && i !== destIndex + 1));

/** The workspace's packages that npm would publish, core first. */
function publishedPackages() {
  const list = spawnSync("pnpm", ["ls", "-r", "--json", "--depth", "-1"], { cwd: root, encoding: "utf8" });
  if (list.status !== 0) throw new Error(`pnpm ls failed:\n${list.stderr}`);
  return JSON.parse(list.stdout)
    .filter((p) => !p.private && p.path !== root)
    .map((p) => ({ name: p.name, version: p.version, dir: p.path }))
    .filter((p) => only.length === 0 || only.includes(p.name))
    .sort((a, b) =>
      a.name === "@omnibus/core" ? -1 : b.name === "@omnibus/core" ? 1 : a.name < b.name ? -1 : 1,
    );
}

/** The command of a package's bin, run with this Node. */
function binOf(pkg, name) {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifestPath, "utf8"));
  return join(dirname(manifestPath), typeof bin === "string" ? bin : bin[name]);
}
const attw = binOf("@arethetypeswrong/cli", "attw");

/** `pnpm pack` in the package's directory; the tarball's path. */
function pack(pkg, dest) {
  const run = spawnSync("pnpm", ["pack", "--pack-destination", dest], { cwd: pkg.dir, encoding: "utf8" });
  if (run.status !== 0) {
    throw new Error(`pnpm pack failed (exit ${run.status}):\n${`${run.stdout}\n${run.stderr}`.trim()}`);
  }
  return join(dest, `${pkg.name.replace(/^@/, "").replace("/", "-")}-${pkg.version}.tgz`);
}

/** Files of the tarball that are tests (`*.test.*`, or under a test folder). */
function testFiles(tarball) {
  const list = spawnSync("tar", ["-tzf", tarball], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (list.status !== 0) return [`tar -tzf failed: ${list.stderr.trim()}`];
  const tests = list.stdout.split("\n").filter((f) => /\.test\.|\/test\//.test(f));
  if (tests.length === 0) return [];
  // prepack's build emits no test, but the workspace's `tsc -b` writes into the same dist/: one
  // running while this packs puts its compiled tests in the tarball.
  const hint = tests.some((f) => f.startsWith("package/dist/"))
    ? " (compiled tests: did a `tsc -b` write into dist/ while this packed? Pack again when it is done)"
    : "";
  return [`tests in the tarball${hint}: ${tests.join(", ")}`];
}

/** publint on the tarball: every message, formatted. */
async function publintFindings(tarball) {
  const data = readFileSync(tarball);
  const tarballBuffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const { messages, pkg } = await publint({
    pack: { tarball: tarballBuffer },
    level: "suggestion",
    strict: true,
  });
  return messages.map((m) => `publint ${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`);
}

/** attw with the ESM-only profile; its report when it finds a problem (or no types at all). */
function attwFindings(tarball) {
  const json = spawnSync(process.execPath, [attw, tarball, "--profile", "esm-only", "--format", "json"], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  let types = false;
  try {
    types = Boolean(JSON.parse(json.stdout).analysis?.types);
  } catch {
    // The exit code and the report below tell what went wrong.
  }
  if (json.status === 0 && types) return [];
  if (json.status === 0) return ["attw: the package has no type declarations"];
  const report = spawnSync(
    process.execPath,
    [attw, tarball, "--profile", "esm-only", "--format", "ascii", "--no-color", "--no-emoji"],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  return [`attw (exit ${json.status}):\n${`${report.stdout}\n${report.stderr}`.trim()}`];
}

const dest = keep ?? mkdtempSync(join(tmpdir(), "omnibus-packages-"));
mkdirSync(dest, { recursive: true });
const started = Date.now();
let failed = 0;
try {
  const packages = publishedPackages();
  if (packages.length === 0) throw new Error(`no published package matches ${only.join(", ")}`);
  const width = Math.max(...packages.map((p) => p.name.length));
  for (const pkg of packages) {
    const t0 = Date.now();
    let findings;
    try {
      const tarball = pack(pkg, dest);
      findings = [...testFiles(tarball), ...(await publintFindings(tarball)), ...attwFindings(tarball)];
    } catch (error) {
      findings = [error instanceof Error ? error.message : String(error)];
    }
    const took = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    if (findings.length === 0) {
      process.stdout.write(`${pkg.name.padEnd(width)}  OK  (${took})\n`);
    } else {
      failed++;
      process.stdout.write(`${pkg.name.padEnd(width)}  ${findings.length} finding(s)  (${took})\n`);
      for (const f of findings) process.stdout.write(`${f.replace(/^/gm, "    ")}\n`);
    }
  }
  process.stdout.write(
    `${packages.length - failed} of ${packages.length} packages OK (no tests packed, publint, attw --profile esm-only) in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
} finally {
  if (!keep) rmSync(dest, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
