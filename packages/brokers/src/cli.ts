/**
 * `pnpm brokers up|down|status|env [names…]`: see packages/brokers/README.md.
 */
import { BROKER_NAMES, type BrokerName, isBrokerName, maskUrl } from "./config.js";
import { down, envLines, status, up } from "./up.js";

const USAGE = `usage: pnpm brokers up|down|status|env [${BROKER_NAMES.join("|")}…]`;

function table(
  rows: {
    name: string;
    source: string | undefined;
    url: string;
    ready: boolean;
    reason?: string;
    absent?: boolean;
  }[],
): string {
  return rows
    .map((r) =>
      r.absent
        ? `${r.name.padEnd(9)} ${"absent".padEnd(9)} ${r.reason ?? "not installed"}; its tests are skipped`
        : `${r.name.padEnd(9)} ${(r.source ?? "-").padEnd(9)} ${maskUrl(r.url)}${r.ready ? "" : `  (not answering: ${r.reason ?? "?"})`}`,
    )
    .join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const unknown = rest.filter((n) => !isBrokerName(n));
  if (!command || unknown.length > 0) {
    console.error(unknown.length > 0 ? `unknown broker: ${unknown.join(", ")}\n${USAGE}` : USAGE);
    return 2;
  }
  const names = rest as BrokerName[];
  switch (command) {
    case "up": {
      const started = Date.now();
      try {
        const result = await up(names);
        console.log(table(result));
        console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return 0;
      } catch (error) {
        console.error(`brokers up failed:\n${(error as Error).message}`);
        return 1;
      }
    }
    case "status": {
      const result = await status(names);
      console.log(table(result));
      return result.every((r) => r.ready) ? 0 : 1;
    }
    case "down": {
      const report = await down(names);
      for (const line of report.stopped) console.log(`stopped ${line}`);
      for (const line of report.kept) console.log(`kept ${line}`);
      if (report.stopped.length === 0) console.log("nothing to stop");
      return 0;
    }
    case "env":
      for (const line of envLines(names)) console.log(line);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
