/**
 * Settle-once deliveries: what every driver needs and used to write itself (a `settled` flag and
 * a resolved-promise constant in each).
 * @module
 */
import type { Delivery, InboundMessage } from "../spi.js";

const DONE: Promise<void> = Promise.resolve();

/** The broker-side settlement of one delivery, called at most once between them. */
export interface Settlement {
  ack(): Promise<void>;
  nack(options?: { delayMs?: number }): Promise<void>;
  /** True once the delivery can no longer be settled (its connection, lease or partition is gone). */
  stale?(): boolean;
}

/**
 * A {@link Delivery} whose `ack`/`nack` run `settlement` once: a second settle (double ack, nack
 * after ack) resolves at once and does nothing, as the SPI requires. A stale delivery's settle is
 * a no-op too (the broker redelivers it).
 *
 * @example
 * ```ts
 * onDelivery(settleOnce(toInbound(raw), { ack: () => channel.ack(raw), nack: (o) => requeue(raw, o) }));
 * ```
 */
export function settleOnce(
  message: InboundMessage,
  settlement: Settlement,
): Delivery & { readonly settled: boolean } {
  let settled = false;
  const run = (fn: () => Promise<void>): Promise<void> => {
    if (settled) return DONE;
    settled = true;
    if (settlement.stale?.()) return DONE;
    return fn();
  };
  return {
    message,
    get settled() {
      return settled;
    },
    get stale() {
      return settlement.stale?.() ?? false;
    },
    ack: () => run(() => settlement.ack()),
    nack: (options) => run(() => settlement.nack(options)),
  };
}
