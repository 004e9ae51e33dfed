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
