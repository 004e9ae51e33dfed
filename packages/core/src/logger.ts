import { redact } from "./errors.js";

/** Where Omnibus writes what happens. Fields are plain data; no secrets are ever passed. */
export interface Logger {
  /** Detail for diagnosing a problem. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** A normal event worth recording. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong and was dealt with, e.g. a message dead-lettered. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure that needs attention, e.g. a consumer that stopped or a dead-letter copy not sent. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** A logger writing one line per event to stderr, at or above `level`, with passwords masked. */
export function consoleLogger(level: LogLevel = "warn"): Logger {
  const write = (at: Exclude<LogLevel, "silent">) => (message: string, fields?: Record<string, unknown>) => {
    if (order[at] < order[level]) return;
    const suffix = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : "";
    process.stderr.write(redact(`[omnibus] ${at}: ${message}${suffix}`) + "\n");
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return "[unserializable]";
  }
}

/** A field value as plain data with passwords masked: an `Error` becomes `{ name, message, code }`. */
function safeValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redact(String(value.message)) };
    const code = (value as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") out.code = code;
    return out;
  }
  if (
    depth < 3 &&
    value !== null &&
    typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = safeValue(v, depth + 1);
    return out;
  }
  return value;
}

/**
 * `logger` with every message and field made safe: URL passwords masked in strings and error
 * messages, errors turned into plain data. Core wraps the client's logger (and hands the wrapped
 * one to its adapter) so that no log line carries a password, whatever the logger.
 */
export function safeLogger(logger: Logger): Logger {
  const wrap =
    (write: Logger["info"]) =>
    (message: string, fields?: Record<string, unknown>): void => {
      let safe: Record<string, unknown> | undefined;
      try {
        safe = fields === undefined ? undefined : (safeValue(fields) as Record<string, unknown>);
      } catch {
        safe = { fields: "[unreadable]" };
      }
      write.call(logger, redact(message), safe);
    };
  return {
    debug: wrap(logger.debug),
    info: wrap(logger.info),
    warn: wrap(logger.warn),
    error: wrap(logger.error),
  };
}
