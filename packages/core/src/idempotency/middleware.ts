import { ConfigError, RetryLaterError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Message, Middleware } from "../types.js";
import type { IdempotencyStore } from "./store.js";

/** Options of {@link idempotency}. */
export interface IdempotencyOptions {
  /** Where claims and done marks live. Share it between every consumer of a queue. */
  store: IdempotencyStore;
  /** The deduplication key of a message. @default `message.id` */
  key?: (message: Message) => string;
  /**
   * How long a claim holds while its handler runs; after that a duplicate may run (its holder is
   * presumed dead). Longer than your slowest handler. @default 30000
   */
  lockMs?: number;
  /** How long a handled key is remembered. @default 86400000 (24 h) */
  ttlMs?: number;
  /** Delay before a duplicate that arrived while the first copy was running is tried again. @default 1000 */
  retryDelayMs?: number;
  /** Where to report dropped duplicates (debug level). */
  logger?: Logger;
  /** Called for every duplicate dropped (for metrics). */
  onDuplicate?: (message: Message) => void;
}

/**
 * Make at-least-once delivery effectively once: a message whose key was already handled is
 * acked without running the handler; a copy arriving while another copy is being handled is
 * not acked but retried later; a failed handler releases its claim so a retry can run.
 *
 * @example
 * ```ts
 * const bus = createClient({ url, use: [idempotency({ store: memoryIdempotencyStore() })] });
 * ```
 */
export function idempotency(options: IdempotencyOptions): Middleware {
  if (!options?.store) throw new ConfigError("idempotency() needs a store");
  const key = options.key ?? ((m: Message) => m.id);
  const lockMs = options.lockMs ?? 30_000;
  const ttlMs = options.ttlMs ?? 86_400_000;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const { store } = options;
  return {
    name: "idempotency",
    async consume(ctx, next) {
      const k = key(ctx.message);
      const claim = await store.claim(k, lockMs);
      if (claim.status === "done") {
        options.logger?.debug("duplicate dropped", { id: ctx.message.id, key: k });
        options.onDuplicate?.(ctx.message);
        return;
      }
      if (claim.status === "in-progress") {
        throw new RetryLaterError(retryDelayMs, `message ${k} is being handled by another consumer`);
      }
      // While the handler runs, keep the claim alive (stores that can): a slow handler is not
      // run again by a duplicate, and its completion still counts.
      const renew =
        store.extend &&
        setInterval(
          () => {
            void store.extend!(k, claim.token, lockMs).catch((error: unknown) =>
              options.logger?.warn("could not extend an idempotency claim", { key: k, error }),
            );
          },
          Math.max(10, Math.floor(lockMs / 3)),
        );
      try {
        await next();
      } catch (error) {
        if (renew) clearInterval(renew);
        try {
          await store.release(k, claim.token);
        } catch (releaseError) {
          // The handler's error is what settles the message; the claim expires after lockMs.
          options.logger?.warn("could not release an idempotency claim", { key: k, error: releaseError });
        }
        throw error;
      }
      if (renew) clearInterval(renew);
      await store.complete(k, claim.token, ttlMs);
    },
  };
}
