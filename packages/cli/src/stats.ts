/**
 * `omnibus stats <url> <queue|topic:group>`: depth, in flight, lag and dead-letter depth, once, or
 * redrawn like `top` with `--watch` (`--interval` ms apart, `--count` times: testable without a
 * terminal). With `--json`, one JSON document per reading.
 * @module
 */
import type { Client, DestinationStats } from "@omnibus/core";
import { Exit, type Io, write, writeJson } from "./io.js";

/** Options of `omnibus stats`. */
export interface StatsCommandOptions {
  readonly watch?: boolean;
  readonly interval?: number;
  readonly count?: number;
  readonly json?: boolean;
}

/** `queue` or `topic:group`, as `client.stats` takes it. */
export function parseSource(target: string): { name: string; group: string | undefined } {
  const colon = target.indexOf(":");
  return colon < 0
    ? { name: target, group: undefined }
    : { name: target.slice(0, colon), group: target.slice(colon + 1) };
}

function line(s: DestinationStats): string {
  const what = s.kind === "queue" ? `queue ${s.name}` : `topic ${s.name} group ${s.group}`;
  return (
    `${what}\n` +
    `  depth        ${s.depth}\n` +
    `  in flight    ${s.inFlight ?? "n/a (the broker does not say)"}\n` +
    `  lag          ${s.lag}\n` +
    `  dead letters ${s.deadLetters ?? "n/a"}  (${s.deadLetterQueue ?? "none"})\n`
  );
}

/** Run `omnibus stats`. */
export async function stats(
  client: Client,
  url: string,
  target: string,
  options: StatsCommandOptions,
  io: Io,
  signal?: AbortSignal,
): Promise<number> {
  const { name, group } = parseSource(target);
  const interval = options.interval ?? 2000;
  const count = options.watch ? (options.count ?? Number.POSITIVE_INFINITY) : 1;
  const redraw = options.watch && !options.json && io.stdout.isTTY === true;
  for (let i = 0; i < count && !signal?.aborted; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, interval));
    const s = await client.stats(name, group === undefined ? {} : { group });
    if (options.json) {
      writeJson(io.stdout, { url, ...s, at: s.at.toISOString() });
    } else {
      if (redraw) io.stdout.write("\u001b[2J\u001b[H"); // clear the screen, cursor home
      write(io.stdout, `${url}  ${s.at.toISOString()}\n${line(s)}`);
    }
  }
  return Exit.Done;
}
