/**
 * Small helpers of core's own.
 * @module
 */
import type { Logger } from "./logger.js";
import type { Source } from "./spi.js";

/** `promise`, or a rejection with `timeout()` after `ms` (the promise itself keeps running). */
export function withDeadline<T>(promise: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  // One promise and one reaction (not a race of two promises and a finally): every send pays it.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeout()), ms);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Run a settlement; a failure is logged, never thrown (the broker redelivers an unsettled message). */
export async function settle(
  logger: Logger,
  what: string,
  fn: () => Promise<void>,
  fields?: Record<string, unknown>,
): Promise<void> {
  try {
    await fn();
  } catch (error) {
    // Nothing is lost: at worst the message is delivered again.
    logger.warn(`${what} failed; the message will be redelivered`, { ...fields, error });
  }
}

/** `queue:<name>` or `topic:<name>/<group>`, as in the dead-letter origin header. */
export function describeSource(source: Source): string {
  return source.kind === "queue" ? `queue:${source.name}` : `topic:${source.name}/${source.group}`;
}
