/**
 * What a failed handler leads to, as pure functions: how a thrown value is described (whatever
 * was thrown: an Error with a throwing getter, a null-prototype object, a symbol, `undefined`),
 * and the headers of a dead-letter copy, fitted to the adapter's size limit.
 * @module
 */
import { inspect } from "node:util";
import {
  DeadLetterError,
  DecodeError,
  ErrorCode,
  OmnibusError,
  RetryLaterError,
  ValidationError,
} from "../errors.js";
import { backoffDelay, type RetryPolicy } from "../retry.js";
import { HeaderNames } from "../types.js";

/** Longest dead-letter reason kept; the rest of a long message is cut. */
export const MAX_REASON_CHARS = 1024;

function read(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** A one-line description of anything a handler may throw. Never throws. */
export function errorMessage(value: unknown): string {
  let text: string;
  try {
    if (typeof value === "string") text = value;
    else if (typeof value === "symbol") text = value.toString();
    else if (value === undefined || value === null) text = `the handler threw ${value}`;
    else if (typeof value !== "object") text = String(value);
    else {
      const message = read(value, "message");
      const name = read(value, "name");
      if (typeof message === "string") {
        text =
          typeof name === "string" && name !== "Error" && !(value instanceof OmnibusError)
            ? `${name}: ${message}`
            : message;
      } else {
        try {
          text = inspect(value, {
            depth: 2,
            breakLength: Number.POSITIVE_INFINITY,
            maxStringLength: MAX_REASON_CHARS,
          });
        } catch {
          text = Object.prototype.toString.call(value);
        }
      }
    }
  } catch {
    text = "the handler threw a value that cannot be described";
  }
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
}

/**
 * The code of a thrown value: an OmnibusError's code, the value's own string `code`, or
 * `OMNIBUS_HANDLER` for anything else. Never throws.
 */
export function errorCode(value: unknown): string {
  if (value instanceof OmnibusError) return value.code;
  if (typeof value === "object" && value !== null) {
    const code = read(value, "code");
    if (typeof code === "string" && code.length > 0 && code.length <= 200) return code;
  }
  return ErrorCode.Handler;
}

/** UTF-8 bytes of a header map, names and values, as core counts them against `maxMessageBytes`. */
export function headerBytes(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const k in headers) n += Buffer.byteLength(k) + Buffer.byteLength(headers[k]!);
  return n;
}

/** What a dead-letter copy says about why and whence. */
export interface DeadLetterInfo {
  readonly error: unknown;
  readonly attempts: number;
  /** `queue:<name>` or `topic:<name>/<group>`. */
  readonly origin: string;
  readonly at: Date;
}

/**
 * The headers of a dead-letter copy: the message's own headers plus reason, code, attempts,
 * origin and time — as many of those as fit under `maxBytes` with the body, most useful first
 * (code, attempts, origin, the reason cut to what is left, the time). A message that filled the
 * limit on its own is dead-lettered with its own headers only: never a poison loop.
 */
export function deadLetterHeaders(
  headers: Readonly<Record<string, string>>,
  bodyBytes: number,
  info: DeadLetterInfo,
  maxBytes: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith("omnibus-dlq-")) out[k] = v;
  let left = maxBytes - bodyBytes - headerBytes(out);
  const add = (name: string, value: string): void => {
    const cost = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (cost <= left) {
      out[name] = value;
      left -= cost;
    }
  };
  add(HeaderNames.DeadLetterCode, errorCode(info.error));
  add(HeaderNames.DeadLetterAttempts, String(info.attempts));
  add(HeaderNames.DeadLetterOrigin, info.origin);
  let reason = errorMessage(info.error);
  const room = left - Buffer.byteLength(HeaderNames.DeadLetterReason);
  if (room > 0 && Buffer.byteLength(reason) > room) {
    // Cut to whole characters within the room left (UTF-8 up to 4 bytes a character).
    while (reason.length > 0 && Buffer.byteLength(reason) + 3 > room)
      reason = reason.slice(0, Math.floor(reason.length * 0.9));
    reason = `${reason}…`;
  }
  add(HeaderNames.DeadLetterReason, reason);
  add(HeaderNames.DeadLetterAt, info.at.toISOString());
  return out;
}

/** What becomes of a message whose handler failed. */
export type Outcome =
  /** Nack it: it comes back after `delayMs` with attempt + 1. */
  | { readonly kind: "retry"; readonly delayMs: number }
  /** Send it to the dead-letter queue, then ack it. */
  | { readonly kind: "dead-letter" };

/**
 * The outcome of a failed attempt: `DeadLetterError`, `DecodeError` and `ValidationError`
 * dead-letter at once; `RetryLaterError` retries after its own delay; other errors retry with
 * the policy's backoff until the last attempt, then dead-letter.
 */
export function decide(
  error: unknown,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Outcome {
  if (error instanceof DeadLetterError || error instanceof DecodeError || error instanceof ValidationError) {
    return { kind: "dead-letter" };
  }
  if (error instanceof RetryLaterError) return { kind: "retry", delayMs: clampDelay(error.delayMs) };
  if (attempt >= policy.maxAttempts) return { kind: "dead-letter" };
  return { kind: "retry", delayMs: backoffDelay(policy, attempt, random) };
}

/** Longest delay a timer takes (2^31 - 1 ms, about 24.8 days). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** A delay as adapters get it: a whole number of ms within 0..2^31 - 1 (NaN and negatives: 0). */
export function clampDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(MAX_DELAY_MS, Math.ceil(ms));
}
