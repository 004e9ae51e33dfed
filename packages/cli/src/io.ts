/**
 * Where the CLI writes, what it exits with, and how it keeps passwords out of both.
 * @module
 */
import { createClient, isOmnibusError, redact } from "@omnibus/core";

/** Exit codes: done, failed (the broker said no, or a message could not be moved), bad usage. */
export const Exit = { Done: 0, Failed: 1, Usage: 2 } as const;

/** The streams the CLI uses; tests pass their own. */
export interface Io {
  /** Results: tables, or JSON with `--json`. */
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Progress and errors. */
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Answers to questions (purge asks unless `--yes`). */
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** A usage error: exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Write `text` with every URL password masked. */
export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(redact(text));
}

/** One JSON document per line, passwords masked. */
export function writeJson(stream: NodeJS.WritableStream, value: unknown): void {
  write(stream, `${JSON.stringify(value)}\n`);
}

/** The error's message, its code first when it has one, passwords masked. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return redact(isOmnibusError(error) ? `${error.code}: ${message}` : message);
}

/** A client on `url` that logs nothing (the CLI reports errors itself). */
export function clientFor(url: string) {
  const silent = () => {};
  return createClient({
    url,
    logger: { debug: silent, info: silent, warn: silent, error: silent },
    telemetry: { enabled: false },
  });
}
