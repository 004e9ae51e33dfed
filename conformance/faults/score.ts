/**
 * `pnpm conformance:faults`: how much of what can go wrong the suite catches. Seeds every fault
 * of `list.ts`, one per run, into the memory adapter and core, runs the suite on each (in
 * parallel, each run stopping at its first failing case) and prints caught / seeded with the
 * case that caught each fault. A fault counts as caught only when a case's assertion failed —
 * not when a case hung or the run crashed.
 *
 *   pnpm conformance:faults [--jobs 10] [--concurrency 1] [--only id,id] [--min-score 95] [--json file]
 *
 * `--jobs` runs at a time, each with `--concurrency` cases at a time (the suite's `concurrency`).
 * The defaults keep the baseline's timing cases inside their bounds on a 2-core machine: with
 * 16 runs of 4 cases each, `adapter/delay` of the baseline arrived 53 ms past its bound in CI (and
 * failed faults it has nothing to do with: a timing miss is no catch).
 * @module
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { spiFaults } from "./inject.js";
import { type FaultSpec, faultList } from "./list.js";
import { type Patch, patchFaults } from "./patches.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");
const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "10" },
    concurrency: { type: "string", default: "1" },
    only: { type: "string" },
    "min-score": { type: "string", default: "95" },
    json: { type: "string", default: join(root, ".omnibus", "faults.json") },
  },
});
const jobs = Math.max(1, Number(values.jobs));
const concurrency = Math.max(1, Math.floor(Number(values.concurrency)));
const RUN_TIMEOUT_MS = 300_000;

interface CaseOutcome {
  id: string;
  status: string;
  message?: string;
  ms: number;
}
interface RunOutcome {
  fault: string;
  crashes: string[];
  results: CaseOutcome[];
}
type Verdict = "caught" | "survived" | "hung" | "crashed" | "error";
interface Scored {
  fault: FaultSpec;
  verdict: Verdict;
  by?: string;
  message?: string;
  ms: number;
}

/** A temporary copy of core, the memory adapter and the suite with `patches` applied. */
function patchedCopy(patches: readonly Patch[]): string {
  const dir = mkdtempSync(join(tmpdir(), "omnibus-fault-"));
  for (const pkg of ["packages/core", "adapters/memory", "conformance"]) {
    mkdirSync(join(dir, pkg), { recursive: true });
    cpSync(join(root, pkg, "package.json"), join(dir, pkg, "package.json"));
    cpSync(join(root, pkg, "src"), join(dir, pkg, "src"), { recursive: true });
  }
  cpSync(join(root, "conformance", "faults"), join(dir, "conformance", "faults"), { recursive: true });
  mkdirSync(join(dir, "node_modules", "@omnibus"), { recursive: true });
  symlinkSync(join(dir, "packages/core"), join(dir, "node_modules/@omnibus/core"));
  symlinkSync(join(dir, "adapters/memory"), join(dir, "node_modules/@omnibus/memory"));
  symlinkSync(join(dir, "conformance"), join(dir, "node_modules/@omnibus/conformance"));
  symlinkSync(join(root, "packages/core/node_modules"), join(dir, "packages/core/node_modules"));
  for (const patch of patches) {
    const file = join(dir, patch.file);
    const text = readFileSync(file, "utf8");
    const count = text.split(patch.find).length - 1;
    if (count !== 1) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `the edit for ${patch.file} matches ${count} places (must be exactly 1): ${JSON.stringify(patch.find.slice(0, 80))}`,
      );
    }
    writeFileSync(file, text.replace(patch.find, patch.replace));
  }
  return dir;
}

function runWorker(
  fault: string,
  cwd: string,
): Promise<{ outcome?: RunOutcome; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        tsx,
        "--conditions=@omnibus/source",
        join(cwd, "conformance/faults/worker.ts"),
        fault,
        String(concurrency),
      ],
      {
        cwd,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NODE_OPTIONS: "" },
      },
    );
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, RUN_TIMEOUT_MS);
    child.on("close", () => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
      resolve({ outcome: line ? (JSON.parse(line.slice(9)) as RunOutcome) : undefined, stderr, timedOut });
    });
  });
}

async function score(fault: FaultSpec): Promise<Scored> {
  const started = Date.now();
  const patches = patchFaults[fault.id];
  if (!patches && !spiFaults[fault.id])
    return { fault, verdict: "error", message: "no injector for this fault", ms: 0 };
  let cwd = root;
  try {
    if (patches) cwd = patchedCopy(patches);
  } catch (error) {
    return { fault, verdict: "error", message: (error as Error).message, ms: 0 };
  }
  try {
    const { outcome, stderr, timedOut } = await runWorker(fault.id, cwd);
    const ms = Date.now() - started;
    if (!outcome)
      return {
        fault,
        verdict: timedOut ? "hung" : "error",
        message: timedOut ? `the run was killed after ${RUN_TIMEOUT_MS} ms` : stderr.slice(-600),
        ms,
      };
    const failed = outcome.results.find((r) => r.status === "failed");
    const hung = outcome.results.find((r) => r.status === "timed-out");
    if (failed) return { fault, verdict: "caught", by: failed.id, message: failed.message, ms };
    if (hung) return { fault, verdict: "hung", by: hung.id, message: hung.message, ms };
    if (outcome.crashes.length > 0)
      return { fault, verdict: "crashed", message: outcome.crashes[0]!.slice(0, 600), ms };
    return { fault, verdict: "survived", ms };
  } finally {
    if (cwd !== root) rmSync(cwd, { recursive: true, force: true });
  }
}

const started = Date.now();
const only = values.only?.split(",").map((s) => s.trim());
const selected = faultList.filter((f) => !only || only.includes(f.id));
const out = (line: string) => process.stdout.write(`${line}\n`);

out(
  `conformance fault score: ${selected.length} faults (${["spi", "core", "memory"].map((l) => `${selected.filter((f) => f.layer === l).length} ${l}`).join(", ")}), ${jobs} at a time`,
);
// The baseline (the suite on the correct subject) runs beside the first faults rather than before
// them: a failing baseline still voids the score, it only no longer costs its time up front.
const baselineRun = runWorker("baseline", root);
const scored: Scored[] = [];
let next = 0;
const icon: Record<Verdict, string> = { caught: "✓", survived: "✗", hung: "✗", crashed: "✗", error: "!" };
await Promise.all(
  Array.from({ length: Math.min(jobs, selected.length) }, async () => {
    while (next < selected.length) {
      const fault = selected[next++]!;
      const s = await score(fault);
      scored.push(s);
      const detail = s.verdict === "caught" ? `by ${s.by}` : s.verdict.toUpperCase();
      out(
        `[${String(scored.length).padStart(2)}/${selected.length}] ${icon[s.verdict]} ${fault.id.padEnd(32)} ${detail}  (${(s.ms / 1000).toFixed(1)} s)`,
      );
    }
  }),
);

const baseline = await baselineRun;
const bad = baseline.outcome?.results.filter((r) => r.status === "failed" || r.status === "timed-out") ?? [];
if (!baseline.outcome || bad.length > 0 || baseline.outcome.crashes.length > 0) {
  out("the suite fails on the correct subject (memory, no fault): a score would mean nothing");
  for (const r of bad) out(`  ${r.id}: ${r.status} ${r.message ?? ""}`);
  if (!baseline.outcome) out(baseline.stderr.slice(-2000));
  for (const c of baseline.outcome?.crashes ?? []) out(`  ${c}`);
  process.exit(1);
}
const ran = baseline.outcome.results;
out(
  `baseline: ${ran.filter((r) => r.status === "passed").length} cases pass on the correct subject, ${ran.filter((r) => r.status === "skipped").length} skipped, in ${Math.round(ran.reduce((a, r) => a + r.ms, 0) / 1000)} s`,
);

scored.sort((a, b) => selected.indexOf(a.fault) - selected.indexOf(b.fault));
const caught = scored.filter((s) => s.verdict === "caught");
const percent = (100 * caught.length) / Math.max(1, scored.length);
out("");
out(
  `caught ${caught.length} of ${scored.length} seeded faults (${percent.toFixed(1)} %) in ${Math.round((Date.now() - started) / 1000)} s`,
);
const byCase = new Map<string, string[]>();
for (const s of caught) byCase.set(s.by!, [...(byCase.get(s.by!) ?? []), s.fault.id]);
out(`cases that caught a fault first: ${byCase.size}`);
for (const s of scored.filter((x) => x.verdict !== "caught")) {
  out(
    `  ${s.verdict}: ${s.fault.id} — ${s.fault.description}${s.message ? `\n    ${s.message.replace(/\n/g, "\n    ")}` : ""}`,
  );
}
mkdirSync(dirname(values.json!), { recursive: true });
writeFileSync(
  values.json!,
  `${JSON.stringify({ caught: caught.length, seeded: scored.length, percent, faults: scored.map((s) => ({ id: s.fault.id, layer: s.fault.layer, verdict: s.verdict, by: s.by, message: s.message, ms: s.ms })) }, null, 2)}\n`,
);
const errors = scored.filter((s) => s.verdict === "error");
process.exit(percent >= Number(values["min-score"]) && errors.length === 0 ? 0 : 1);
