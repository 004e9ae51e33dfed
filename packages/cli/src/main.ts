/**
 * The `omnibus` command: one program (commander), every command with `--json`, exit codes 0 (done),
 * 1 (failed), 2 (bad usage), URL passwords masked in everything it prints.
 * @module
 */
import { maskUrl } from "@omnibus/core";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { type DlqOptions, list, purge, replay, show } from "./dlq.js";
import { clientFor, describeError, Exit, type Io, UsageError, write } from "./io.js";
import { type StatsCommandOptions, stats } from "./stats.js";

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

/**
 * Run `omnibus` with `argv` (without `node` and the script) on `io`; resolves with the exit code.
 * Never throws and never calls `process.exit`, so tests drive it in-process.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let code: number = Exit.Done;
  const program = new Command("omnibus")
    .description("Queue depth, lag and dead letters on any Omnibus broker")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => write(io.stdout, text),
      writeErr: (text) => write(io.stderr, text),
    })
    .showHelpAfterError();

  const withClient = async (url: string, fn: (client: ReturnType<typeof clientFor>) => Promise<number>) => {
    const client = clientFor(url);
    try {
      await client.connect();
      code = await fn(client);
    } finally {
      await client.close().catch(() => {});
    }
  };
  const json = () => new Option("--json", "print JSON (one document per line)");
  const wait = () =>
    new Option("--wait <ms>", "longest wait for the messages, in ms").argParser(positive("--wait"));

  program
    .command("stats")
    .description("depth, in flight, lag and dead-letter depth of a queue or topic:group")
    .argument("<url>", "broker URL (amqp://, kafka://, sqs://, nats://, redis://, memory://)")
    .argument("<source>", "a queue, or topic:group")
    .option("--watch", "redraw every --interval ms")
    .addOption(
      new Option("--interval <ms>", "time between readings with --watch").argParser(positive("--interval")),
    )
    .addOption(new Option("--count <n>", "stop after n readings with --watch").argParser(positive("--count")))
    .addOption(json())
    .action(async (url: string, source: string, options: StatsCommandOptions) =>
      withClient(url, (client) => stats(client, maskUrl(url), source, options, io)),
    );

  const dlq = program.command("dlq").description("dead letters: list, show, replay, purge");
  const dlqCommand = (name: string, description: string) =>
    dlq
      .command(name)
      .description(description)
      .argument("<url>", "broker URL")
      .argument("<queue>", "the origin queue or topic:group (or a queue ending in .dlq)")
      .addOption(new Option("--limit <n>", "at most n messages").argParser(positive("--limit")))
      .addOption(wait())
      .addOption(json());
  dlqCommand("list", "the dead letters with their error, attempts and origin (left in place)").action(
    async (url: string, queue: string, options: DlqOptions) =>
      withClient(url, (c) => list(c, queue, options, io)),
  );
  dlqCommand("show", "one dead letter with headers and body (left in place)")
    .argument("<id>", "the message id")
    .action(async (url: string, queue: string, id: string, options: DlqOptions) =>
      withClient(url, (c) => show(c, queue, id, options, io)),
    );
  dlqCommand("replay", "send the dead letters back to their origin queue")
    .option("--dry-run", "say what would be replayed, move nothing")
    .option("--yes", "do not ask (replay never asks)")
    .action(async (url: string, queue: string, options: DlqOptions) =>
      withClient(url, (c) => replay(c, queue, options, io)),
    );
  dlqCommand("purge", "remove every dead letter (asks unless --yes)")
    .option("--dry-run", "count what would be purged, remove nothing")
    .option("--yes", "do not ask")
    .action(async (url: string, queue: string, options: DlqOptions) =>
      withClient(url, (c) => purge(c, queue, options, io)),
    );

  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are done; anything else commander refused is bad usage.
      return error.exitCode === 0 ? Exit.Done : Exit.Usage;
    }
    if (error instanceof UsageError || (error as { code?: string })?.code === "OMNIBUS_CONFIG") {
      write(io.stderr, `omnibus: ${describeError(error)}\n`);
      return Exit.Usage;
    }
    write(io.stderr, `omnibus: ${describeError(error)}\n`);
    return Exit.Failed;
  }
}

/** `run` on the process's own streams (the `omnibus` bin). */
export function main(argv: readonly string[]): Promise<number> {
  return run(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
}
