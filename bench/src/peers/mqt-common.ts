import { randomUUID } from "node:crypto";
import type { QueueDependencies, TransactionObservabilityManager } from "@message-queue-toolkit/core";
import { z } from "zod";
import { body } from "../payload.js";

/**
 * What the message-queue-toolkit peers share: the message schema, the message built around a
 * bench `Body`, and the dependencies every toolkit service takes (logger, error reporter).
 */

/** The one message type: the toolkit's required `id` / `messageType` / `timestamp`, the bench `Body` in `payload`. */
export const BODY_MESSAGE = z.object({
  id: z.string(),
  messageType: z.literal("bench.body"),
  timestamp: z.string(),
  payload: z.object({ i: z.number(), t: z.number(), p: z.string() }),
});
export type BodyMessage = z.output<typeof BODY_MESSAGE>;

/** The toolkit routes on this field (`messageTypeResolver`). */
export const MESSAGE_TYPE = { messageTypePath: "messageType" } as const;

/**
 * Message `i`, its body of `size` bytes (`body(i, size, t)`) carried in `payload`. The envelope
 * (id, type, timestamp) comes on top of it, as it does for any toolkit user.
 */
export function bodyMessage(i: number, size: number, t?: number): BodyMessage {
  return {
    id: randomUUID(),
    messageType: "bench.body",
    timestamp: new Date().toISOString(),
    payload: body(i, size, t),
  };
}

type Logger = QueueDependencies["logger"];

const quiet = () => {};
const loud = (...args: unknown[]) => console.error("[message-queue-toolkit]", ...args);

/** Warnings and errors to stderr, nothing else: per-message info/debug logging would be measured. */
export const logger: Logger = {
  level: "warn",
  msgPrefix: "",
  fatal: loud,
  error: loud,
  warn: loud,
  info: quiet,
  debug: quiet,
  trace: quiet,
  silent: quiet,
  child: () => logger,
  isLevelEnabled: (level: string) => level === "warn" || level === "error" || level === "fatal",
};

/** The toolkit logs every error it reports (`handleError`), so the reporter need not print it again. */
export const dependencies: QueueDependencies = { logger, errorReporter: { report: quiet } };

/**
 * A consumer's dependencies: the shared ones, the error resolver of its broker's package, and no
 * transaction observability (the toolkit's own tests pass none; it is only called through `?.`).
 */
export function consumerDependencies<D extends object, R>(
  deps: D,
  consumerErrorResolver: R,
): D & { consumerErrorResolver: R; transactionObservabilityManager: TransactionObservabilityManager } {
  return {
    ...deps,
    consumerErrorResolver,
    transactionObservabilityManager: undefined as unknown as TransactionObservabilityManager,
  };
}

/**
 * The value made for `key` once (`make`), shared by every caller while it is on its way and
 * after; forgotten when it fails, so the next call makes it again.
 */
export function once<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let made = cache.get(key);
  if (!made) {
    const promise = make();
    made = promise;
    cache.set(key, promise);
    promise.catch(() => {
      if (cache.get(key) === promise) cache.delete(key);
    });
  }
  return made;
}

/** One turn of the event loop, so that fire-and-forget writes reach the socket between windows. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
