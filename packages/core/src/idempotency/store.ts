/** The outcome of {@link IdempotencyStore.claim}. */
export type ClaimResult =
  /** This caller holds the claim: run the handler, then `complete` or `release` with the token. */
  | { readonly status: "claimed"; readonly token: string }
  /** Another caller holds an unexpired claim: the message is being handled right now. */
  | { readonly status: "in-progress" }
  /** The key was handled successfully within the done-TTL. */
  | { readonly status: "done" };

/**
 * Where the idempotency middleware records which messages were handled. Every method must be
 * atomic with respect to concurrent callers on other processes:
 * - Redis: `SET key token NX PX lockMs`, then a Lua script that checks the token before
 *   replacing it with the done marker (or deleting it);
 * - SQL: `INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE expires_at < now() RETURNING token`,
 *   and `UPDATE/DELETE ... WHERE key = $1 AND token = $2`.
 */
export interface IdempotencyStore {
  /**
   * Claim `key` for `lockMs` ms. A claim whose lock expired (its holder died) can be claimed
   * again; a done key cannot until its TTL runs out.
   */
  claim(key: string, lockMs: number): Promise<ClaimResult>;
  /**
   * Mark `key` done for `ttlMs` ms, if `token` still holds the claim — also when that claim
   * expired but no other caller claimed the key since (the handler was only slow).
   */
  complete(key: string, token: string, ttlMs: number): Promise<void>;
  /** Drop the claim on `key` if `token` still holds it (the handler failed). */
  release(key: string, token: string): Promise<void>;
  /**
   * Push the expiry of `token`'s claim on `key` to `lockMs` from now, while its handler still
   * runs; resolves `false` when the claim is no longer `token`'s (a claim whose lock ran out but
   * that nobody took over is still `token`'s where the store can tell: a renewal late by an event
   * loop stall then keeps it, as the memory store does). Optional: without it a handler
   * slower than `lockMs` can run twice, and `complete` must still accept an expired claim that
   * nobody took over (see {@link IdempotencyStore.complete}).
   */
  extend?(key: string, token: string, lockMs: number): Promise<boolean>;
}
