/**
 * `pnpm chaos`: per broker, on private servers only, (a) the broker restarted twice mid-stream,
 * gracefully and with SIGKILL, (b) a consumer process killed with SIGKILL after a third of the
 * messages, then a fresh consumer, (c) every TCP connection cut for 20 s through an in-process
 * proxy and restored. Prints, per broker and scenario: confirmed, send-failed (by code), received,
 * lost (confirmed − received), duplicates, hung, and the time from restore to the first confirm
 * and the first delivery.
 *
 *   pnpm chaos [--broker rabbitmq,kafka,…] [--scenario restart,kill,consumer-kill,cut] [--quick]
 *              [--json file] [--readme]
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CHAOS_BROKERS, type ChaosBroker, SETUPS } from "./brokers.js";
import { FULL, QUICK, type Row, runScenario, SCENARIOS, type Scenario } from "./scenarios.js";

const here = dirname(fileURLToPath(import.meta.url));
const USAGE = `pnpm chaos [--broker ${CHAOS_BROKERS.join(",")}] [--scenario ${SCENARIOS.join(",")}]
           [--quick] [--json file] [--readme]
Faults go to private brokers only; prints a table per broker and scenario.
`;
let parsed: ReturnType<typeof parseOptions>;
function parseOptions() {
  return parseArgs({
    options: {
      broker: { type: "string" },
      scenario: { type: "string" },
      quick: { type: "boolean", default: false },
      json: { type: "string", default: join(here, "..", "results", "latest.json") },
      readme: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}
try {
  parsed = parseOptions();
} catch (error) {
  // A bad option is a one-line message and exit code 2, not a stack trace.
  process.stderr.write(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const pick = <T extends string>(value: string | undefined, all: readonly T[], what: string): T[] => {
  if (value === undefined) return [...all];
  const chosen = value.split(",").map((s) => s.trim()) as T[];
  for (const c of chosen) {
    if (!all.includes(c)) {
      process.stderr.write(`unknown ${what} ${c}; one of ${all.join(", ")}\n`);
      process.exit(2);
    }
  }
  return chosen;
};
const brokers = pick<ChaosBroker>(values.broker, CHAOS_BROKERS, "broker");
const scenarios = pick<Scenario>(values.scenario, SCENARIOS, "scenario");
const size = values.quick ? QUICK : FULL;
const started = Date.now();

const fmt = (ms: readonly (number | undefined)[], idle: readonly number[] = []) =>
  ms.length === 0
    ? "–"
    : ms
        .map((m, i) => {
          const time = m === undefined ? "never" : `${(m / 1000).toFixed(1)} s`;
          const waited = idle[i] ?? 0;
          return waited > 0 ? `${time} (idle ${(waited / 1000).toFixed(1)} s first)` : time;
        })
        .join(", ");
const failures = (f: Readonly<Record<string, number>>) =>
  Object.keys(f).length === 0
    ? "0"
    : Object.entries(f)
        .map(([code, n]) => `${n} ${code}`)
        .join(", ");

/** The table, in Markdown. */
function table(rows: readonly Row[]): string {
  const head =
    "| broker | scenario | confirmed | send-failed | received | lost | duplicates | hung | restore → first confirm | restore → first delivery |";
  const lines = rows.map((r) =>
    r.error
      ? `| ${r.broker} | ${r.scenario} | error: ${r.error.replace(/\|/g, "/").slice(0, 120)} | | | | | | | |`
      : `| ${r.broker} | ${r.scenario} | ${r.confirmed} | ${failures(r.sendFailed)} | ${r.received} | ${r.lost}${r.durable ? "" : " (in-memory broker)"} | ${r.duplicates} | ${r.hung ? "yes" : "no"} | ${fmt(r.firstConfirmMs, r.confirmIdleMs)} | ${fmt(r.firstDeliveryMs, r.deliveryIdleMs)} |`,
  );
  return [head, "|---|---|---:|---|---:|---:|---:|---|---|---|", ...lines].join("\n");
}

const rows: Row[] = [];
const runs = brokers.flatMap((broker) =>
  scenarios.filter((s) => !(SETUPS[broker].cluster && s === "cut")).map((scenario) => ({ broker, scenario })),
);
const total = runs.length;
for (const { broker, scenario } of runs) {
  const n = rows.length + 1;
  process.stdout.write(`[${n}/${total}] ${broker} ${scenario}…\n`);
  const r = await runScenario(broker, scenario, size, (line) => process.stdout.write(`    ${line}\n`));
  rows.push(r);
  process.stdout.write(
    r.error
      ? `    error: ${r.error}\n`
      : `    ${r.confirmed} confirmed, ${r.received} received, ${r.lost} lost${r.recounted === undefined ? "" : ` (a fresh consumer then received ${r.recounted} of them)`}, ${r.duplicates} duplicates${r.hung ? ", HUNG" : ""} (${(r.ms / 1000).toFixed(0)} s)\n`,
  );
}
const markdown = table(rows);
process.stdout.write(
  `\n${markdown}\n\n${values.quick ? "quick" : "full"} run, ${Math.round((Date.now() - started) / 1000)} s\n`,
);
mkdirSync(dirname(values.json!), { recursive: true });
writeFileSync(values.json!, `${JSON.stringify({ at: new Date().toISOString(), size, rows }, null, 2)}\n`);
if (values.readme) {
  const file = join(here, "..", "README.md");
  const text = readFileSync(file, "utf8");
  const block = `<!-- chaos:start -->\n${values.quick ? "Quick" : "Full"} run of ${new Date().toISOString().slice(0, 10)} (${size.producers} producers, ${size.messages} messages per restart/cut scenario, ${size.consumerKillMessages} in consumer-kill):\n\n${markdown}\n<!-- chaos:end -->`;
  writeFileSync(file, text.replace(/<!-- chaos:start -->[\s\S]*<!-- chaos:end -->/, block));
  // The repository's formatter pads the table, as `biome check` (the lint step) expects it.
  spawnSync("pnpm", ["exec", "biome", "format", "--write", file], { stdio: "ignore" });
}
const bad = rows.filter((r) => r.error || r.hung || (r.durable && r.lost > 0));
process.exit(bad.length === 0 ? 0 : 1);
