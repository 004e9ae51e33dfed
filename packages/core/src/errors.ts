/**
 * Errors. Every error Omnibus throws is an {@link OmnibusError} with a stable `code`.
 * @module
 */

/** Stable error codes. Match on these, never on messages. */
export const ErrorCode = {
  /** Bad options, bad URL, bad destination name, missing adapter package. */
  Config: "OMNIBUS_CONFIG",
  /** Could not reach or lost the broker. */
  Connection: "OMNIBUS_CONNECTION",
  /** The broker refused or did not confirm a message. */
  Publish: "OMNIBUS_PUBLISH",
  /** The message is larger than the adapter's `maxMessageBytes`; nothing was sent. */
  MessageTooLarge: "OMNIBUS_MESSAGE_TOO_LARGE",
  /** The adapter does not support a requested feature (delay, priority, fan-out…). */
  UnsupportedFeature: "OMNIBUS_UNSUPPORTED_FEATURE",
  /** No reply arrived within the request's timeout. */
  RequestTimeout: "OMNIBUS_REQUEST_TIMEOUT",
  /** The remote handler of a request failed; `remoteMessage`/`remoteCode` say how. */
  RemoteError: "OMNIBUS_REMOTE_ERROR",
  /** The client (or consumer) is closed. */
  Closed: "OMNIBUS_CLOSED",
  /** A body could not be decoded by the codec its content type names. */
  Decode: "OMNIBUS_DECODE",
  /** A body did not match the contract's schema. */
  Validation: "OMNIBUS_VALIDATION",
  /** A handler asked for the message to be retried later. */
  RetryLater: "OMNIBUS_RETRY_LATER",
  /** A handler asked for the message to be dead-lettered now. */
  DeadLetter: "OMNIBUS_DEAD_LETTER",
  /**
   * In the `omnibus-dlq-code` header only: the handler threw something without a code of its own
   * (a plain `Error`, a string…). Never thrown by Omnibus.
   */
  Handler: "OMNIBUS_HANDLER",
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const BRAND = Symbol.for("omnibus.error");

/** Options common to every Omnibus error. */
export interface OmnibusErrorOptions {
  /** The underlying error (broker client error, codec error…). Always kept. */
  cause?: unknown;
  /** Whether trying the same operation again may succeed. */
  retryable?: boolean;
}

/**
 * Base class of every error Omnibus throws. `instanceof` works across two installed copies of
 * `@omnibus/core` (the check is by a global symbol brand and the code).
 */
export class OmnibusError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Whether trying again may succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: OmnibusErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    if (options.cause !== undefined) scrubCause(options.cause);
    this.name = "OmnibusError";
    this.code = code;
    this.retryable = options.retryable ?? false;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof` by brand and code rather than by prototype, so that `err instanceof ConfigError`
   * holds when the error comes from another installed copy of `@omnibus/core`.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null || !(BRAND in value)) return false;
    // Subclasses match on their own code, so `err instanceof ConfigError` survives two copies.
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass `instanceof` was asked about.
    const code = (this as unknown as { CODE?: string }).CODE;
    return code === undefined || (value as unknown as { code?: string }).code === code;
  }
}

function define<C extends ErrorCode>(code: C, name: string, retryable: boolean) {
  const cls = class extends OmnibusError {
    static readonly CODE = code;
    declare readonly code: C;
    constructor(message: string, options: OmnibusErrorOptions = {}) {
      super(code, message, { retryable, ...options });
      this.name = name;
    }
  };
  Object.defineProperty(cls, "name", { value: name });
  return cls;
}

/** Bad configuration or input: fix the call, do not retry. */
export class ConfigError extends define(ErrorCode.Config, "ConfigError", false) {}
/** The broker could not be reached or the connection was lost. */
export class ConnectionError extends define(ErrorCode.Connection, "ConnectionError", true) {}
/** The broker refused or did not confirm a message. The message may or may not be stored. */
export class PublishError extends define(ErrorCode.Publish, "PublishError", true) {}
/** Message over the adapter's size limit; nothing was sent. */
export class MessageTooLargeError extends define(ErrorCode.MessageTooLarge, "MessageTooLargeError", false) {}
/** The adapter cannot do what was asked (see its `features`). */
export class UnsupportedFeatureError extends define(
  ErrorCode.UnsupportedFeature,
  "UnsupportedFeatureError",
  false,
) {}
/** No reply within the timeout. */
export class RequestTimeoutError extends define(ErrorCode.RequestTimeout, "RequestTimeoutError", true) {}
/** The client or consumer is closed. */
export class ClosedError extends define(ErrorCode.Closed, "ClosedError", false) {}
/** A body could not be decoded. Such messages are dead-lettered at once. */
export class DecodeError extends define(ErrorCode.Decode, "DecodeError", false) {}
/** A body failed the contract's schema. Inbound, such messages are dead-lettered at once. */
export class ValidationError extends define(ErrorCode.Validation, "ValidationError", false) {}

/** The remote handler of a request threw. */
export class RemoteError extends define(ErrorCode.RemoteError, "RemoteError", false) {
  /** The remote error's `code` if it had one (e.g. an OmnibusError code or an app code). */
  readonly remoteCode: string | undefined;
  /** The remote error's message. */
  readonly remoteMessage: string;
  constructor(remoteMessage: string, remoteCode?: string, options: OmnibusErrorOptions = {}) {
    super(`remote handler failed: ${remoteMessage}`, options);
    this.remoteMessage = remoteMessage;
    this.remoteCode = remoteCode;
  }
}

/**
 * Throw from a handler to have the message delivered again after `delayMs`, without waiting for
 * the retry policy's backoff. It still counts as an attempt.
 */
export class RetryLaterError extends define(ErrorCode.RetryLater, "RetryLaterError", true) {
  /** Delay before the next delivery. */
  readonly delayMs: number;
  constructor(delayMs: number, message = `retry in ${delayMs} ms`, options: OmnibusErrorOptions = {}) {
    super(message, options);
    this.delayMs = delayMs;
  }
}

/** Throw from a handler to dead-letter the message now, skipping the remaining attempts. */
export class DeadLetterError extends define(ErrorCode.DeadLetter, "DeadLetterError", false) {}

/** True if `value` is an OmnibusError (from any copy of core) with the given code. */
export function isOmnibusError(value: unknown, code?: ErrorCode): value is OmnibusError {
  return value instanceof OmnibusError && (code === undefined || value.code === code);
}

/** A URL-like token: `scheme://` and what follows up to whitespace or a quote. */
const URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'`<>]*)/gi;

/**
 * Replace the credentials of every URL in `text` with `***`: the password of `user:password@`,
 * or the whole userinfo when it has no `:` (a token, as in `nats://TOKEN@host`). The userinfo
 * ends at the last `@` of the URL, so passwords holding `@`, `/` or `:` are masked whole, and
 * for `a://u:p@h1,u:p@h2` everything up to the last `@`. Used on every error message, cause and
 * log line Omnibus writes.
 */
export function redact(text: string): string {
  return text.replace(URL_TOKEN, (all, scheme: string, rest: string) => {
    const at = rest.lastIndexOf("@");
    if (at < 0) return all;
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    return `${scheme}${colon < 0 ? "***" : `${userinfo.slice(0, colon)}:***`}${rest.slice(at)}`;
  });
}

/**
 * Mask URL credentials in the string properties of `cause` and of its own causes (Node's
 * `TypeError` keeps a bad URL in `input`, fetch errors in `url`…), so that printing an error with
 * its causes shows no password. Properties that cannot be written are left alone.
 */
export function scrubCause(cause: unknown, depth = 0, seen = new Set<unknown>()): void {
  if (depth > 6 || !walkable(cause) || seen.has(cause)) return;
  seen.add(cause);
  for (const key of Reflect.ownKeys(cause)) {
    let value: unknown;
    try {
      value = (cause as Record<PropertyKey, unknown>)[key];
    } catch {
      continue;
    }
    if (typeof value === "string") {
      const clean = redact(value);
      if (clean !== value) {
        try {
          Object.defineProperty(cause, key, { value: clean, configurable: true, writable: true });
        } catch {
          // a frozen or exotic object: nothing to do
        }
      }
    } else if (walkable(value)) {
      scrubCause(value, depth + 1, seen);
    }
  }
}

/** Errors, arrays and plain objects: never sockets, clients or other live objects with getters. */
function walkable(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  if (value instanceof Error || Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A URL's string form with its password masked, for messages and status output. */
export function maskUrl(url: string): string {
  return redact(url);
}
