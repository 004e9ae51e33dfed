// pnpm --filter @omnibus/example-worker-pool start [--url amqp://…] [--jobs 500] [--workers 4]
import { runWorkerPool } from "./pool.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const report = await runWorkerPool({
  url: flag("url") ?? process.env.BROKER_URL ?? "memory://",
  jobs: Number(flag("jobs") ?? 200),
  workers: Number(flag("workers") ?? 4),
  log: (line) => console.log(line),
});
console.log(
  report.duplicates === 0 ? "every job handled exactly once" : `${report.duplicates} jobs handled twice`,
);
