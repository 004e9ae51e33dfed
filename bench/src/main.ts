import {
  curvesTable,
  parseCli,
  runBench,
  runCurves,
  textReport,
  USAGE,
  writeCurves,
  writeResults,
} from "./index.js";

// A library bug must not end a run of many minutes: report it and carry on (the run it hit fails).
process.on("unhandledRejection", (reason) => {
  process.stderr.write(
    `\nunhandled rejection (a bug, not of the bench): ${(reason as Error)?.stack ?? reason}\n`,
  );
});

async function main(): Promise<void> {
  let options: ReturnType<typeof parseCli>;
  try {
    options = parseCli(process.argv.slice(2).filter((a) => a !== "--"));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (options.curves) {
    const curves = await runCurves(options);
    process.stdout.write(`\n${curvesTable(curves)}\n\n`);
    const files = await writeCurves(curves, options.out);
    process.stdout.write(`wrote ${files.json}, ${files.svg}\n`);
    return;
  }
  const report = await runBench(options);
  process.stdout.write(`\n${textReport(report)}\n\n`);
  const files = await writeResults(report, options.out);
  process.stdout.write(`wrote ${files.json}, ${files.latest}, ${files.svg}\n`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
    process.exit(1);
  },
);
