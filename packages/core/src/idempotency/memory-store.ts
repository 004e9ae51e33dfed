import { randomUUID } from "node:crypto";
import type { ClaimResult, IdempotencyStore } from "./store.js";

interface Entry {
  token: string | undefined; // undefined once done
  expiresAt: number;
}

/** Options of {@link memoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /**
   * Entries kept at most: past it the oldest done marks are dropped (never a claim in progress).
   * @default 100000
   */
  maxEntries?: number;
}

/**
 * An in-process idempotency store. Atomic within one process only: use a shared store
 * (`redisIdempotencyStore` from `@omnibus/redis`) when several processes consume.
 */
export function memoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 100_000;
  const entries = new Map<string, Entry>();
  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  /** Drop the oldest done (or expired) entries past `maxEntries`; claims in progress stay. */
  const trim = () => {
    if (entries.size <= maxEntries) return;
    for (const [key, entry] of entries) {
      if (entries.size <= maxEntries) return;
      if (entry.token === undefined || entry.expiresAt <= now()) entries.delete(key);
    }
  };
  return {
    async claim(key, lockMs): Promise<ClaimResult> {
      const entry = live(key);
      if (entry) return entry.token === undefined ? { status: "done" } : { status: "in-progress" };
      const token = randomUUID();
      entries.set(key, { token, expiresAt: now() + lockMs });
      trim();
      return { status: "claimed", token };
    },
    async complete(key, token, ttlMs) {
      // An expired claim still counts as ours until somebody else claims the key.
      const entry = entries.get(key);
      if (entry !== undefined && entry.token !== token) return;
      entries.delete(key);
      entries.set(key, { token: undefined, expiresAt: now() + ttlMs });
      trim();
    },
    async release(key, token) {
      if (entries.get(key)?.token === token) entries.delete(key);
    },
    async extend(key, token, lockMs) {
      // As complete: an expired claim is still ours until somebody else claims the key (a renewal
      // that came late, after the event loop stalled past lockMs, keeps the claim; seen in CI).
      const entry = entries.get(key);
      if (entry === undefined || entry.token !== token) return false;
      entry.expiresAt = now() + lockMs;
      return true;
    },
  };
}
