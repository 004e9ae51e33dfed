import { redact } from "@omnibus/core";
import type { RedisClient } from "./client.js";

/** Fields of Node.js system errors and ioredis errors that are kept on a scrubbed copy. */
const KEPT_FIELDS = ["code", "errno", "syscall", "address", "port", "hostname"] as const;

/** How deep a chain of causes (and `AggregateError`s, `lastNodeError`s) is copied. */
const MAX_DEPTH = 5;

/**
 * Keeps passwords out of every error the adapter throws or logs.
 *
 * ioredis errors are not fit to be kept as they are: after a failed `AUTH`, ioredis rejects every
 * queued command with the `AUTH` reply error, on which it set `command = { name: "auth", args:
 * [user, password] }`; other errors carry whole message batches in `command.args`. So the adapter
 * never keeps an ioredis error as a `cause`: it keeps a copy made by {@link Scrubber.cause} (name,
 * message, stack, Node's `code`/`errno`/`syscall`/`address`/`port`, the command's name — never its
 * arguments — and the copied causes of the cause), and every text in it has the known secrets
 * (the passwords the client was configured with) and URL passwords masked.
 */
export class Scrubber {
  private readonly secrets: readonly string[];

  constructor(secrets: Iterable<string | undefined>) {
    const set = new Set<string>();
    for (const s of secrets) {
      if (typeof s !== "string" || s === "") continue;
      set.add(s);
      // The same password as it appears in a URL.
      const encoded = encodeURIComponent(s);
      if (encoded !== s) set.add(encoded);
    }
    // Longest first: a secret that contains another is masked whole.
    this.secrets = [...set].sort((a, b) => b.length - a.length);
  }

  /** `text` with URL passwords and every known secret replaced by `***`. */
  text(text: string): string {
    let out = redact(text);
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join("***");
    return out;
  }

  /** The message of `error` (any thrown value), scrubbed. */
  message(error: unknown): string {
    return this.text(error instanceof Error ? error.message : String(error));
  }

  /** A copy of `error` that is safe to keep as a `cause` (see the class). */
  cause(error: unknown, depth = 0): Error {
    if (!(error instanceof Error)) return new Error(this.text(String(error)));
    const errors =
      error instanceof AggregateError && depth < MAX_DEPTH
        ? (error.errors as unknown[]).map((e) => this.cause(e, depth + 1))
        : undefined;
    const copy = (
      errors ? new AggregateError(errors, this.text(error.message)) : new Error(this.text(error.message))
    ) as Error & Record<string, unknown>;
    copy.name = error.name;
    copy.stack = typeof error.stack === "string" ? this.text(error.stack) : undefined;
    const source = error as unknown as Record<string, unknown>;
    for (const key of KEPT_FIELDS) {
      const value = source[key];
      if (typeof value === "string") copy[key] = this.text(value);
      else if (typeof value === "number") copy[key] = value;
    }
    const command = source.command as { name?: unknown } | undefined;
    if (typeof command === "object" && command !== null && typeof command.name === "string") {
      // The name says what failed; the arguments may be a password (AUTH, HELLO) or a whole batch.
      copy.command = { name: command.name };
    }
    if (depth < MAX_DEPTH) {
      if (error.cause !== undefined) copy.cause = this.cause(error.cause, depth + 1);
      // ioredis's ClusterAllFailedError: the error of the last node tried.
      if (source.lastNodeError !== undefined)
        copy.lastNodeError = this.cause(source.lastNodeError, depth + 1);
    }
    return copy;
  }
}

/** The passwords an ioredis client was configured with (from its URL or options). */
export function clientSecrets(client: RedisClient): string[] {
  const options = client.options as unknown as Record<string, unknown>;
  const redisOptions = (options.redisOptions ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const o of [options, redisOptions]) {
    for (const key of ["password", "sentinelPassword"]) {
      const value = o[key];
      if (typeof value === "string") out.push(value);
    }
  }
  return out;
}

/** The password of a `redis://` URL, decoded, if it has one. */
export function urlSecret(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const password = new URL(url).password;
    if (password === "") return undefined;
    try {
      return decodeURIComponent(password);
    } catch {
      return password;
    }
  } catch {
    return undefined;
  }
}
