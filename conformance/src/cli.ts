// omnibus-conformance <module> [--export name] [--filter pattern]: run the suite on an adapter.
import { runConformance } from "./run.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const module = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
if (!module) {
  process.stderr.write(
    "usage: omnibus-conformance <module> [--export conformance] [--filter pattern]\n" +
      "  <module> exports ConformanceOptions: { name, adapter: () => Adapter, unreachable?, redeliveryAfterMs? }\n",
  );
  process.exit(2);
}
const exportName = flag("export");
const filter = flag("filter");
process.exitCode = await runConformance({
  module,
  ...(exportName ? { exportName } : {}),
  ...(filter ? { filter } : {}),
});
