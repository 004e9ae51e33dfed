// omnibus-conformance <module> [--export name] [--tier adapter|client] [--filter text] [--bail] [--concurrency N]
//                              [--json file] [--report file.html]
import { parseArgs } from "node:util";
import type { Tier } from "./case.js";
import { runConformance } from "./run.js";

const usage =
  "usage: omnibus-conformance <module> [--export conformance] [--tier adapter|client] [--filter text]\n" +
  "                           [--bail] [--concurrency N] [--json report.json] [--report report.html]\n" +
  "  <module> exports ConformanceOptions: { name, adapter: () => Adapter, unreachable?, leaseMs?, … }\n";
let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      export: { type: "string" },
      tier: { type: "string", multiple: true },
      filter: { type: "string" },
      bail: { type: "boolean" },
      concurrency: { type: "string" },
      json: { type: "string" },
      report: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help || positionals.length !== 1) {
  process.stderr.write(usage);
  process.exit(values.help ? 0 : 2);
}
const tiers = values.tier as Tier[] | undefined;
const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
  process.stderr.write(`--concurrency is a positive integer\n${usage}`);
  process.exit(2);
}
if (tiers?.some((t) => t !== "adapter" && t !== "client")) {
  process.stderr.write(`--tier is adapter or client\n${usage}`);
  process.exit(2);
}
try {
  const report = await runConformance({
    module: positionals[0]!,
    ...(values.export ? { exportName: values.export } : {}),
    ...(values.filter ? { filter: values.filter } : {}),
    ...(tiers ? { tiers } : {}),
    ...(values.bail ? { bail: true } : {}),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(values.json ? { json: values.json } : {}),
    ...(values.report ? { html: values.report } : {}),
  });
  process.exit(report.totals.failed + report.totals["timed-out"] === 0 ? 0 : 1);
} catch (error) {
  process.stderr.write(`omnibus-conformance: ${(error as Error).message}\n`);
  process.exit(2);
}
